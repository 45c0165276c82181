#!/usr/bin/env bash
# Installs the client component into a scratch prefix, builds
# docs/examples/robot_example.c against it with pkg-config (shared, and
# static from the archive), and runs both against a real hbmon-server.
#   client_install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/hbmon-install-XXXXXX")
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill -9 "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

cmake --install "$build" --prefix "$work/prefix" --component client >/dev/null
pc=$(find "$work/prefix" -name hbmon-client.pc)
test -n "$pc" || { echo "no hbmon-client.pc installed"; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
libdir=$(pkg-config --variable=libdir hbmon-client)
for f in "$libdir/libhbmon-client.a" "$libdir/libhbmon-client.so" \
         "$work/prefix/include/hbmon/client.h" \
         "$work/prefix/include/hbmon/error.h"; do
  test -e "$f" || { echo "not installed: $f"; exit 1; }
done

# Shared: exactly what the example's comment tells a robot author.
# (HBMON_EXAMPLE_CFLAGS: the sanitizer flags the library was built with.)
extra=${HBMON_EXAMPLE_CFLAGS:-}
cc $extra -std=c11 -Wall -Wextra -Werror "$src/docs/examples/robot_example.c" \
   $(pkg-config --cflags --libs hbmon-client) -Wl,-rpath,"$libdir" \
   -o "$work/example-shared"
# Static: the archive plus its private dependencies.
cc $extra -std=c11 -Wall -Wextra -Werror "$src/docs/examples/robot_example.c" \
   $(pkg-config --cflags hbmon-client) "$libdir/libhbmon-client.a" \
   $(pkg-config --static --libs-only-l hbmon-client | sed 's/-lhbmon-client//') \
   -o "$work/example-static"
if ldd "$work/example-static" | grep -q hbmon-client; then
  echo "the static example still needs libhbmon-client.so"; exit 1
fi

# Both talk to a real server (auth off: no robot registry needed here).
mkdir "$work/data"
"$build/src/server/hbmon-server" --data-dir "$work/data" \
  --listen "ipc://$work/data/robots.sock" --auth none 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do
  [ -S "$work/data/robots.sock" ] && break
  sleep 0.05
done
for kind in shared static; do
  out=$(HBMON_SECRET=any "$work/example-$kind" "ipc://$work/data/robots.sock" R1)
  echo "$kind: $out"
  [ "$out" = "recorded: robot and 3 accounts" ] || exit 1
done
# And a server that is not there is an error, not a hang.
if "$work/example-shared" "ipc://$work/nothing.sock" R1 2>"$work/err"; then
  echo "expected a failure with no server"; exit 1
fi
grep -q "server unavailable" "$work/err"
echo "1 passed, 0 failed"
