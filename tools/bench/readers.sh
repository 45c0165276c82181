#!/bin/sh
# Admin reads beside a running `hbmon-bench ingest --seed-db` (see
# seed-db.sh): as soon as the bench's hbmon-server is up, and until it is
# gone, one loop reads the outbox from seq 0 as a notifier catching up
# does (AlertsAfter, pages of up to 1,000) and another reads robot H's
# history, 10,000 heartbeats at a time (hbctl history --limit 10000).
# Prints how many rounds of each ran.
#
# usage: tools/bench/readers.sh BUILD_DIR
set -eu
hbctl="$1/tools/hbctl/hbctl"
until pid=$(pgrep -f 'hbmon-server --data-dir [^ ]*/hbmon-bench-'); do
  sleep 0.05
done
dir=$(tr '\0' '\n' < "/proc/$pid/cmdline" | sed -n '3p')
until [ -S "$dir/admin.sock" ]; do sleep 0.05; done
loop() {
  n=0
  while kill -0 "$pid" 2> /dev/null; do
    "$hbctl" --data-dir "$dir" "$@" > /dev/null 2>&1 || true
    n=$((n + 1))
  done
  echo "$1: $n rounds"
}
loop alerts --json &
loop history H --since 1d --limit 10000 --json &
wait
