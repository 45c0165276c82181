#!/usr/bin/env bash
# Builds the Debian packages from the build directory's CPackConfig.cmake
# (`cpack -G DEB`), runs lintian on them (no errors allowed), and runs the
# packaged programs from an extracted tree without installing anything:
# --version, a server on a scratch data dir, hbctl status against it, and
# a robot built against the -dev package.
#   package_test.sh BUILD_DIR SOURCE_DIR
# Exit 77 (skipped) where the tools are missing.
set -euo pipefail
build=$1
src=$2
scratch_name=package
. "$src/tests/support/scratch.sh"

for tool in cpack dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null || { echo "skipped: no $tool"; exit 77; }
done

# The packaging directory outside the build tree, so that the packaged
# programs are seen as installed ones.
cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/out" \
  >"$work/cpack.log" 2>&1 || { cat "$work/cpack.log"; fail "cpack -G DEB"; }
debs=("$work"/out/*.deb)
names=$(for d in "${debs[@]}"; do dpkg-deb -f "$d" Package; done | sort | tr '\n' ' ')
[ "$names" = "hbmon libhbmon-client-dev libhbmon-client0 " ] \
  || fail "packages made: $names"
deb() { ls "$work"/out/"$1"_*.deb; }

# Control data: the user is created by postinst; dependencies are there.
depends=$(dpkg-deb -f "$(deb hbmon)" Depends)
for d in adduser tzdata libnng1 libsqlite3-0; do
  case "$depends" in *"$d"*) ;; *) fail "hbmon does not depend on $d: $depends" ;; esac
done
dpkg-deb -e "$(deb hbmon)" "$work/control"
test -x "$work/control/postinst" || fail "no executable postinst"
grep -q 'adduser --system' "$work/control/postinst" || fail "postinst makes no system user"
for s in postinst prerm postrm; do sh -n "$work/control/$s"; done
dpkg-deb -e "$(deb libhbmon-client0)" "$work/control0"
grep -q 'activate-noawait ldconfig' "$work/control0/triggers" || fail "no ldconfig trigger"
grep -q '^libhbmon-client 0 libhbmon-client0' "$work/control0/shlibs" || fail "no shlibs"

if command -v lintian >/dev/null; then
  lintian --tag-display-limit 0 "${debs[@]}" >"$work/lintian.log" 2>&1 || true
  cat "$work/lintian.log"
  if grep -q '^E: ' "$work/lintian.log"; then fail "lintian reports errors"; fi
else
  echo "note: lintian is not installed; apt-get install lintian"
fi

# The maintainer scripts for real, in a mount namespace whose /etc is a
# copy and whose /var/lib is empty: the hbmon user and /var/lib/hbmon
# appear there, and the machine is not touched. Needs root and unshare.
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null &&
   unshare -m true 2>/dev/null; then
  mkdir -p "$work/ns/var-lib"
  cp -a /etc "$work/ns/etc"
  cp -a "$work/control" "$work/ns/control"
  DPKG_MAINTSCRIPT_PACKAGE=hbmon unshare -m sh -euc '
    mount --bind "$1/etc" /etc
    mount --bind "$1/var-lib" /var/lib
    "$1/control/postinst" configure
    getent passwd hbmon | grep -q ":/var/lib/hbmon:"
    [ "$(stat -c "%U:%G %a" /var/lib/hbmon)" = "hbmon:hbmon 700" ]
    test -f /etc/hbmon/server.ini
    "$1/control/postinst" configure    # an upgrade: nothing changes
    "$1/control/prerm" remove
    "$1/control/postrm" purge
    test ! -e /etc/hbmon/server.ini
    test -d /var/lib/hbmon             # recorded data is never deleted
    echo "maintainer scripts: user, data dir and purge as intended"
  ' sh "$work/ns" >"$work/maint.log" 2>&1 \
    || { cat "$work/maint.log"; fail "the maintainer scripts"; }
  cat "$work/maint.log"
else
  echo "note: maintainer scripts not run (needs root and unshare -m)"
fi

# Extract all three and run what is in them.
root=$work/root
for d in "${debs[@]}"; do dpkg-deb -x "$d" "$root"; done
for f in usr/bin/hbmon-server usr/bin/hbctl usr/bin/hbmon-notify usr/bin/hbmon-robot \
         usr/share/man/man1/hbmon-server.1.gz usr/share/man/man5/hbmon.ini.5.gz \
         usr/share/doc/hbmon/examples/server.ini usr/share/doc/hbmon/copyright \
         usr/share/hbmon/proto/hbmon/v1/rpc.proto usr/include/hbmon/client.h \
         usr/lib/pkgconfig/hbmon-client.pc usr/lib/cmake/hbmon-client/hbmon-client-config.cmake; do
  test -e "$root/$f" || fail "not in the packages: /$f"
done
for p in hbmon-server hbctl hbmon-notify hbmon-robot; do
  out=$("$root/usr/bin/$p" --version) || fail "$p --version"
  [ "$out" = "$p $(dpkg-deb -f "$(deb hbmon)" Version | cut -d- -f1)" ] || fail "$p --version: $out"
done
unset HBMON_DATA_DIR HBMON_ADMIN
out=$(cd / && "$root/usr/bin/hbmon-server" --check-config)
grep -qx 'data_dir = /var/lib/hbmon' <<<"$out" || fail "packaged server's data_dir: $out"

data=$work/data
start_server "$root/usr/bin/hbmon-server" "$data"
"$root/usr/bin/hbctl" --data-dir "$data" robot add R1 --secret-file "$work/r1.secret" \
  >/dev/null || fail "hbctl robot add"
(cd / && "$root/usr/bin/hbmon-robot" --server "ipc://$data/robots.sock" --robot R1 \
  --secret-file "$work/r1.secret" --accounts 2 --interval 100ms --duration 500ms) \
  >/dev/null 2>&1 || fail "the packaged hbmon-robot could not report"
out=$(cd / && "$root/usr/bin/hbctl" --data-dir "$data" status) || fail "hbctl status: $out"
grep -q '^R1 ' <<<"$out" || fail "hbctl status does not show R1: $out"

# A robot built against the -dev package (its .pc finds the extracted
# tree from its own place; the library is found with LD_LIBRARY_PATH, as
# /usr/lib would be found once installed).
export PKG_CONFIG_PATH=$root/usr/lib/pkgconfig
cc ${HBMON_EXAMPLE_CFLAGS:-} -std=c11 "$src/docs/examples/robot_example.c" \
  $(pkg-config --cflags --libs hbmon-client) -o "$work/robot_example" \
  || fail "robot_example does not build against libhbmon-client-dev"
out=$(LD_LIBRARY_PATH=$root/usr/lib HBMON_SECRET=$(cat "$work/r1.secret") \
  "$work/robot_example" "ipc://$data/robots.sock" R1) || fail "robot_example: $out"
[ "$out" = "recorded: robot and 3 accounts" ] || fail "robot_example: $out"

kill -TERM "$server_pid"
wait "$server_pid" || fail "the packaged server did not stop cleanly"
server_pid=
echo "1 passed, 0 failed"
