#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with clang, ASan and UBSan and
# runs each for a while from the seeds in tests/fuzz/seeds plus a corpus
# kept in build-fuzz/corpus. A crash stops the run and leaves its input.
#   tools/run-fuzz.sh            # 20 s per target
#   HBMON_FUZZ_SECONDS=600 tools/run-fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${HBMON_FUZZ_SECONDS:-20}
build=build-fuzz

tools/install-deps.sh fuzz
CC=clang cmake -S . -B "$build" -DHBMON_FUZZ=ON -DHBMON_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc 2>/dev/null || echo 2)" \
  --target fuzz_envelope fuzz_hbjson fuzz_time fuzz_alert fuzz_rules \
  fuzz_admit fuzz_admin_admit fuzz_batch_items fuzz_spwire fuzz_httpmsg

corpus=$build/corpus
mkdir -p "$corpus"/{envelope,hbjson,time,alert,rules,admit,admin_admit,batch_items,spwire,httpmsg}
cp -n tests/fuzz/seeds/hbjson/* "$corpus/hbjson/"
cp -n tests/fuzz/seeds/time/* "$corpus/time/"
# Binary seeds come from protoc's own encoder.
enc() { protoc -Iproto --encode="hbmon.v1.$1" hbmon/v1/admin.proto hbmon/v1/monitor.proto hbmon/v1/rpc.proto; }
printf 'method: "/hbmon.v1.Monitor/ReportBatch" robot_id: "R1" seq: 1 sent_at_ms: 1 payload: "\\n\\x0fROBOT_HEARTBEAT\\x10\\x01"' \
  | enc RpcRequest >"$corpus/envelope/seed"
# Within the fuzz targets' window (their clock is 1768876200000), above
# the seq floor; names with a NUL and with a control, for a start.
printf 'method: "/hbmon.v1.Monitor/ReportRobot" robot_id: "R1" seq: 5 sent_at_ms: 1768876200000' \
  | enc RpcRequest >"$corpus/admit/seed"
printf 'method: "/hbmon.v1.Monitor/ReportRobot" robot_id: "R1\\000evil" seq: 6 sent_at_ms: 1768876100000' \
  | enc RpcRequest >"$corpus/admit/seed-nul"
printf 'method: "/hbmon.v1.Admin/RobotRotate" robot_id: "@admin" seq: 7 sent_at_ms: 1768876200000 payload: "\\n\\002R1"' \
  | enc RpcRequest >"$corpus/admin_admit/seed"
printf 'method: "/hbmon.v1.Admin/Overview\\033[2J" robot_id: "@admin" seq: 8 sent_at_ms: -9223372036854775808' \
  | enc RpcRequest >"$corpus/admin_admit/seed-control"
printf 'robot { event: "ROBOT_HEARTBEAT" status: HEALTH_STATUS_HEALTHY timestamp: "2026-01-20T09:30:00+07:00" } accounts { event: "ACCOUNT_HEARTBEAT" account: "A" status: ACCOUNT_STATUS_IDLE session_valid: true timestamp: "x" }' \
  | enc HeartbeatBatch >"$corpus/rules/seed"
cp "$corpus/rules/seed" "$corpus/batch_items/seed"
{ printf 'critical/HEARTBEAT_MISSED/R1/'
  printf 'seq: 3 kind: ALERT_KIND_HEARTBEAT_MISSED severity: SEVERITY_CRITICAL robot: "R1" summary: "s" details { misses: 3 affected { account: "A" } last_payload: "{}" }' \
    | protoc -Iproto --encode=hbmon.v1.Alert hbmon/v1/alert.proto
} >"$corpus/alert/seed"
{ printf 'keepalive/'
  printf 'boot_id: "0123456789abcdef0123456789abcdef" uptime_ms: 5000 last_alert_seq: 7 interval_ms: 5000 health: HEALTH_STATUS_DEGRADED problem: "slow"' \
    | protoc -Iproto --encode=hbmon.v1.Keepalive hbmon/v1/alert.proto
} >"$corpus/alert/seed-keepalive"

# SP streams: mode byte, the peer's handshake, then frames (a tcp REQ with
# two requests, an ipc one, a PUB's SUB peer).
sp() { printf "$1"'\x00SP\x00'"$2"'\x00\x00'"$3"; }
sp '\x00' '\x00\x30' '\x00\x00\x00\x00\x00\x00\x00\x06\x80\x00\x00\x01hi\x00\x00\x00\x00\x00\x00\x00\x04\x80\x00\x00\x02' >"$corpus/spwire/tcp"
sp '\x01' '\x00\x30' '\x01\x00\x00\x00\x00\x00\x00\x00\x08\x00\x00\x00\x07\x80\x00\x00\x01' >"$corpus/spwire/ipc"
sp '\x02' '\x00\x21' '' >"$corpus/spwire/sub"

# HTTP heads: the limit byte, then a signed heartbeat's head and body.
printf '\xffPOST /v1/heartbeat HTTP/1.1\r\nHost: x\r\nX-Hbmon-Robot: R1\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\n{}' \
  >"$corpus/httpmsg/post"
printf '\x10GET /healthz?x=1 HTTP/1.0\n\n' >"$corpus/httpmsg/get"

for target in envelope hbjson time alert rules admit admin_admit batch_items spwire httpmsg; do
  echo "fuzz_$target: ${seconds} s"
  (cd "$build" && "./tests/fuzz/fuzz_$target" -max_total_time="$seconds" \
     -max_len=8192 -print_final_stats=1 "corpus/$target" 2>&1 | tail -3)
done
