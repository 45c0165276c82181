#!/usr/bin/env bash
# Installs the client library (components client and client-dev) into a
# scratch prefix that is not a system one, like /opt/hbmon, and builds
# docs/examples/robot_example.c against it the ways the docs tell a robot
# author: pkg-config with nothing added (shared: it must run as built),
# the static archive, a fully static nng and mbedTLS, and a CMake project
# with find_package(hbmon-client). Every build runs against a real
# hbmon-server.
#   client_install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
scratch_name=client-install
. "$src/tests/support/scratch.sh"

prefix=$work/opt/hbmon
for component in client client-dev; do
  cmake --install "$build" --prefix "$prefix" --component "$component" >/dev/null
done
pc=$(find "$prefix" -name hbmon-client.pc)
test -n "$pc" || fail "no hbmon-client.pc installed"
export PKG_CONFIG_PATH=$(dirname "$pc")
libdir=$(pkg-config --variable=libdir hbmon-client)
case "$libdir" in *//*) fail "libdir has '//': $libdir" ;; esac
for f in "$libdir/libhbmon-client.a" "$libdir/libhbmon-client.so" \
         "$libdir/libhbmon-client.so.0" \
         "$prefix/include/hbmon/client.h" \
         "$prefix/include/hbmon/error.h" \
         "$libdir/cmake/hbmon-client/hbmon-client-config.cmake"; do
  test -e "$f" || fail "not installed: $f"
done
# The static archive's needs, nng's TLS included.
private=$(pkg-config --static --libs-only-l hbmon-client)
for l in -lnng -lmbedtls -lmbedx509 -lmbedcrypto -lpthread; do
  case " $private " in *" $l "*) ;; *) fail "Libs.private lacks $l: $private" ;; esac
done

# (HBMON_EXAMPLE_CFLAGS: the sanitizer flags the library was built with.)
extra=${HBMON_EXAMPLE_CFLAGS:-}
example=$src/docs/examples/robot_example.c
cflags="$extra -std=c11 -Wall -Wextra -Werror"

# Shared: exactly the line in the example's comment, nothing added. It
# runs from a prefix the dynamic linker does not search.
cc $cflags "$example" $(pkg-config --cflags --libs hbmon-client) \
   -o "$work/example-shared"
# Static: the archive plus its private dependencies, nng shared.
cc $cflags "$example" $(pkg-config --cflags hbmon-client) \
   "$libdir/libhbmon-client.a" \
   $(pkg-config --static --libs-only-l hbmon-client | sed 's/-lhbmon-client//') \
   -o "$work/example-static"
if ldd "$work/example-static" | grep -q hbmon-client; then
  fail "the static example still needs libhbmon-client.so"
fi
# Fully static hbmon, nng and mbedTLS (only libc and the like shared):
# what failed while Libs.private lacked mbedTLS.
libs=$(pkg-config --static --libs-only-l hbmon-client | sed 's/-lpthread//')
cc $cflags "$example" $(pkg-config --cflags hbmon-client) \
   -L"$libdir" -Wl,-Bstatic $libs -Wl,-Bdynamic -lpthread \
   -o "$work/example-allstatic"
if ldd "$work/example-allstatic" | grep -Eq 'hbmon-client|libnng|libmbed'; then
  ldd "$work/example-allstatic"
  fail "the fully static example still needs shared hbmon, nng or mbedTLS"
fi

# CMake: find_package(hbmon-client) from the installed prefix.
mkdir "$work/cmake-robot"
cat >"$work/cmake-robot/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.16)
project(robot C)
find_package(hbmon-client 0.1 REQUIRED)
add_executable(example-cmake $example)
target_link_libraries(example-cmake PRIVATE hbmon::client)
add_executable(example-cmake-static $example)
target_link_libraries(example-cmake-static PRIVATE hbmon::client-static)
CMAKE
cmake -S "$work/cmake-robot" -B "$work/cmake-robot/build" \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS="$extra" \
  -DCMAKE_EXE_LINKER_FLAGS="$extra" >"$work/cmake.log" 2>&1 \
  || { cat "$work/cmake.log"; fail "find_package(hbmon-client) failed"; }
cmake --build "$work/cmake-robot/build" >>"$work/cmake.log" 2>&1 \
  || { cat "$work/cmake.log"; fail "the CMake robot did not build"; }
cp "$work/cmake-robot/build/example-cmake" \
   "$work/cmake-robot/build/example-cmake-static" "$work/"

# Every one talks to a real server (auth off: no robot registry needed).
start_server "$build/src/server/hbmon-server" "$work/data" --auth none
for kind in shared static allstatic cmake cmake-static; do
  out=$(HBMON_SECRET=any "$work/example-$kind" "ipc://$work/data/robots.sock" R1) \
    || fail "$kind did not run: $out"
  echo "$kind: $out"
  [ "$out" = "recorded: robot and 3 accounts" ] || fail "$kind: $out"
done
# And a server that is not there is an error, not a hang.
if "$work/example-shared" "ipc://$work/nothing.sock" R1 2>"$work/err"; then
  fail "expected a failure with no server"
fi
grep -q "server unavailable" "$work/err"
echo "1 passed, 0 failed"
