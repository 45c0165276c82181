#!/usr/bin/env bash
# The README's first command: installs what is missing, builds, and runs the
# main job for about a minute and a half — hbmon-server on the embedded
# SQLite default, a simulated robot with scripted faults, and a notifier
# printing every alert as it is delivered. Ctrl-C stops it early.
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

say "hbctl robot add DEMO-1"
"$hbctl" robot add DEMO-1 --json | tee "$dir/DEMO-1.json"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret"])' \
  "$dir/DEMO-1.json" >"$dir/DEMO-1.secret"

say "hbmon-notify --sink stdout (every alert, as JSON, as it is delivered)"
# Through a process substitution, so that $! is the notifier itself (the
# last command of a pipeline would be sed, and stopping sed would leave the
# notifier running and the final wait hanging).
"$notify" --sink stdout --admin "$admin" --subscribe "ipc://$dir/alerts.sock" \
  2>"$dir/notify.log" > >(sed -u 's/^/[notify] /') &
pids+=($!)

# The robot's script: degraded at 10 s, ACC_003's session expires at 16 s,
# ACC_005 falls silent at 22 s, back to healthy at 34 s, the whole robot
# dies at 50 s (alerted about 9 s later, with its accounts rolled up).
say "hbmon-robot DEMO-1 with 5 accounts, heartbeat every 1 s, scripted faults"
"$robot" --server "ipc://$dir/robots.sock" --robot DEMO-1 \
  --secret-file "$dir/DEMO-1.secret" --accounts 5 --interval 1s \
  --change-rate 0 --fault degrade@10s --fault expire=ACC_003@16s \
  --fault silent=ACC_005@22s --fault recover@34s --fault die@50s \
  >"$dir/robot.log" 2>&1 &
pids+=($!)

for ((t = 5; t <= seconds; t += 5)); do
  sleep 5
  if ((t % 15 == 0)); then
    say "hbctl status (t=${t}s)"
    "$hbctl" status || true
  fi
done

say "hbctl accounts DEMO-1"
"$hbctl" accounts DEMO-1 || true
say "hbctl alerts"
"$hbctl" alerts || true
