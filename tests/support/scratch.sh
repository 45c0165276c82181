# Sourced by the shell tests (client_install_test.sh, install_test.sh,
# package_test.sh): a scratch dir $work removed on exit with any server
# started in it, fail(), and start_server.
work=$(mktemp -d "${TMPDIR:-/tmp}/hbmon-${scratch_name:-test}-XXXXXX")
server_pid=
scratch_cleanup() {
  if [ -n "$server_pid" ]; then kill -9 "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap scratch_cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }

# start_server SERVER DATA_DIR [FLAG...]: SERVER on DATA_DIR, robots on
# ipc://DATA_DIR/robots.sock, stderr in $work/server.log. Waits for both
# socket files (never a bare connect: nanomsg/nng#1518 would stop the
# listener for good).
start_server() {
  local server=$1 data=$2
  shift 2
  "$server" --data-dir "$data" --listen "ipc://$data/robots.sock" "$@" \
    2>"$work/server.log" &
  server_pid=$!
  for _ in $(seq 200); do
    [ -S "$data/admin.sock" ] && [ -S "$data/robots.sock" ] && return 0
    sleep 0.05
  done
  cat "$work/server.log"
  fail "the server did not start"
}
