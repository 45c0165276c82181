#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs the
# main job for about a minute and a half — hbmon-server on the embedded
# SQLite default, a simulated robot with scripted faults that dies and comes
# back, and a notifier printing every alert as the owner would read it on
# Telegram — then sums up what happened. Ctrl-C stops it early.
#
#   tools/run-demo.sh                 # about 90 s
#   HBMON_DEMO_SECONDS=300 tools/run-demo.sh
#   HBMON_DEMO_DIR=/tmp/keep tools/run-demo.sh   # keep the data dir
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${HBMON_DEMO_SECONDS:-90}
build=build

tools/install-deps.sh
cmake -S . -B "$build" -DHBMON_WERROR=ON >/dev/null
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" \
  --target hbmon-server hbctl hbmon-robot hbmon-notify >/dev/null

server=$build/src/server/hbmon-server
hbctl=$build/tools/hbctl/hbctl
robot=$build/tools/robot/hbmon-robot
notify=$build/src/notify/hbmon-notify

keep_dir=${HBMON_DEMO_DIR:-}
dir=${keep_dir:-$(mktemp -d /tmp/hbmon-demo.XXXXXX)}
mkdir -p "$dir"
umask 077
pids=()

cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -z "$keep_dir" ]; then rm -rf "$dir"; else echo "data kept in $dir"; fi
}
trap cleanup EXIT
trap 'echo; echo "stopping"; exit 0' INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

admin="ipc://$dir/admin.sock"
export HBMON_ADMIN=$admin

# Short intervals so that a minute shows what a day would: a subject is late
# after 3 s without a heartbeat and down (alerted) after 9 s.
say "hbmon-server on $dir (interval_max 3s, miss_threshold 2)"
"$server" --data-dir "$dir" --listen "ipc://$dir/robots.sock" \
  --interval-max 3s --miss-threshold 2 --repeat-interval 30s \
  --log-level warn 2>"$dir/server.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$dir/admin.sock" ] && break; sleep 0.1; done

say "hbctl robot add DEMO-1 --secret-file $dir/DEMO-1.secret"
"$hbctl" robot add DEMO-1 --secret-file "$dir/DEMO-1.secret"

say "hbmon-notify --sink stdout --stdout-format text (each alert as the Telegram message reads)"
# Through a process substitution, so that $! is the notifier itself (the
# last command of a pipeline would be sed, and stopping sed would leave the
# notifier running and the final wait hanging). Indented, to stand apart
# from the hbctl output around it.
"$notify" --sink stdout --stdout-format text --admin "$admin" \
  --subscribe "ipc://$dir/alerts.sock" \
  2>"$dir/notify.log" > >(sed -u 's/^./    &/') &
pids+=($!)

robot_args=(--server "ipc://$dir/robots.sock" --robot DEMO-1
  --secret-file "$dir/DEMO-1.secret" --accounts 5 --interval 1s
  --change-rate 0)

# The robot's script: degraded at 10 s, ACC_003's session expires at 16 s,
# ACC_005 falls silent at 22 s, back to healthy at 34 s, the whole robot
# dies at 50 s (alerted about 9 s later, with its accounts rolled up), and
# a new robot process comes back 20 s before the end (the all-clear).
say "hbmon-robot DEMO-1 with 5 accounts, heartbeat every 1 s, scripted faults"
"$robot" "${robot_args[@]}" --fault degrade@10s --fault expire=ACC_003@16s \
  --fault silent=ACC_005@22s --fault recover@34s --fault die@50s \
  >"$dir/robot.log" 2>&1 &
pids+=($!)

back_at=$((seconds - 20))
for ((t = 5; t <= seconds; t += 5)); do
  sleep 5
  if ((t == back_at)); then
    say "DEMO-1 comes back (t=${t}s): hbmon-robot started again"
    "$robot" "${robot_args[@]}" >>"$dir/robot.log" 2>&1 &
    pids+=($!)
  elif ((t % 15 == 0)); then
    say "hbctl status (t=${t}s)"
    "$hbctl" status || true
  fi
done

say "hbctl accounts DEMO-1"
"$hbctl" accounts DEMO-1 || true

# The summary: what the alerts were, from the outbox.
alerts_json=$("$hbctl" alerts --json 2>/dev/null || true)
summary=$(printf '%s\n' "$alerts_json" | python3 -c '
import json, sys, collections
alerts = [json.loads(l) for l in sys.stdin if l.strip().startswith("{")]
firing = [a for a in alerts if a.get("state") == "firing"]
kinds = collections.Counter(a["kind"] for a in firing)
back = sum(1 for a in alerts if a.get("state") == "resolved")
print("%d alerts: %d raised (%s), %d all-clear%s" % (
    len(alerts), len(firing),
    ", ".join("%d %s" % (n, k) for k, n in sorted(kinds.items())) or "none",
    back, "" if back == 1 else "s"))
' 2>/dev/null || echo "(no alerts read)")

if [ -n "$keep_dir" ]; then
  kept="kept"
else
  kept="removed now; HBMON_DEMO_DIR=/tmp/keep tools/run-demo.sh keeps it"
fi

say "What happened"
cat <<EOT
DEMO-1 reported every second with 5 accounts: degraded at 10 s, ACC_003's
session expired at 16 s, ACC_005 fell silent at 22 s, all healthy again at
34 s; the robot died at 50 s and came back at ${back_at} s.
$summary; the notifier printed each one above as the Telegram message reads.
Data: $dir (hbmon.db and the logs), $kept.
To look around a kept data dir (the demo's server has stopped):
  $server --data-dir DIR --listen ipc://DIR/robots.sock &
  export HBMON_ADMIN=ipc://DIR/admin.sock
  $hbctl status; $hbctl alerts; $hbctl history DEMO-1 --limit 5
The same messages on your phone: README.md, "Run it for real".
EOT
