#!/bin/sh
# Makes a database to start `hbmon-bench ingest --seed-db` runs from: the
# history of robot H (10,000 heartbeats) and 1,000 alerts in the outbox
# (HEARTBEAT_MISSED of 1,000 robots that reported once), for readers to
# load the server with (docs/benchmarks.md, "Ingest beside admin reads").
#
# usage: tools/bench/seed-db.sh BUILD_DIR OUT.db
set -eu
build=$1
out=$2
dir=$(mktemp -d "${TMPDIR:-/tmp}/hbmon-seed-XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$build/src/server/hbmon-server" --data-dir "$dir" \
  --listen "ipc://$dir/robots.sock" --auth none --interval-max 300ms \
  --miss-threshold 1 2> "$dir/server.log" &
pid=$!
until [ -S "$dir/admin.sock" ]; do sleep 0.1; done
export HBMON_SECRET=unused # auth none: nothing is checked
robot="$build/tools/robot/hbmon-robot"
"$robot" --server "ipc://$dir/robots.sock" --robot H --accounts 1 \
  --bench 10000 > /dev/null
i=1
while [ "$i" -le 1000 ]; do
  "$robot" --server "ipc://$dir/robots.sock" --robot "S$i" --accounts 1 \
    --bench 1 > /dev/null
  i=$((i + 1))
done
# Each goes down after two 300 ms intervals: one alert per robot.
until [ "$("$build/tools/hbctl/hbctl" --data-dir "$dir" alerts --json \
  --kind HEARTBEAT_MISSED | wc -l)" -ge 1000 ]; do sleep 0.5; done
kill -TERM "$pid"
wait "$pid"
cp "$dir/hbmon.db" "$out"
