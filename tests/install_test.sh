#!/usr/bin/env bash
# Installs everything into a scratch prefix that is not a system one (as
# `cmake --install build --prefix /opt/hbmon` would) and checks what an
# operator finds there: the programs working with no flag the build tree
# does not need (templates compiled in, /var/lib/hbmon defaults), man
# pages that render and name every setting, example settings that check
# out, and the .proto contract under share/hbmon/proto.
#   install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
scratch_name=install
. "$src/tests/support/scratch.sh"

prefix=$work/opt/hbmon
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
bin=$prefix/bin
unset HBMON_DATA_DIR HBMON_ADMIN

# Programs: every one has --version.
for p in hbmon-server hbmon-notify hbctl hbmon-robot; do
  out=$("$bin/$p" --version) || fail "$p --version exited $?"
  case "$out" in "$p "[0-9]*) ;; *) fail "$p --version: $out" ;; esac
done

# Defaults of an installed server, started in /: never /var, never ./var.
out=$(cd / && "$bin/hbmon-server" --check-config)
grep -qx 'data_dir = /var/lib/hbmon' <<<"$out" || fail "server data_dir: $out"
grep -qx 'admin = ipc:///var/lib/hbmon/admin.sock' <<<"$out" || fail "$out"

# Templates are compiled in: the installed notifier needs no
# --templates-dir, and not even the installed copies.
rm -rf "$prefix/share/hbmon/templates"
(cd / && HBMON_TELEGRAM_TOKEN=123:abc HBMON_TELEGRAM_CHAT_ID=42 \
  "$bin/hbmon-notify" --sink telegram --check-config >"$work/notify.out") \
  || fail "hbmon-notify --sink telegram: $(cat "$work/notify.out")"
(cd / && HBMON_SMTP_URL=smtp://127.0.0.1:2525 HBMON_SMTP_FROM=a@b.c \
  HBMON_SMTP_TO=d@e.f "$bin/hbmon-notify" --sink email --lang id \
  --email-tls none --check-config >/dev/null) || fail "hbmon-notify --sink email --lang id"

# Man pages: installed, compressed, rendering without a warning.
man=$prefix/share/man
for page in man1/hbmon-server.1 man1/hbctl.1 man1/hbmon-notify.1 \
            man1/hbmon-robot.1 man5/hbmon.ini.5; do
  test -f "$man/$page.gz" || fail "no man page $page"
  if command -v man >/dev/null; then
    warnings=$(MANWIDTH=80 man --warnings -l "$man/$page.gz" 2>&1 >/dev/null)
    [ -z "$warnings" ] || fail "$page: $warnings"
    MANWIDTH=80 man -l "$man/$page.gz" 2>/dev/null | grep -q "^NAME" \
      || fail "$page does not render"
  fi
done
# Every setting is in hbmon.ini(5): keys as --check-config names them
# ("section.key" under [section]).
keys() { awk '/^\[/ { s = substr($0, 2, length($0) - 2) "."; next }
              / = / { print s $1 }'; }
ini=$src/docs/man/hbmon.ini.5.scd
for k in $("$bin/hbmon-server" --check-config | keys) \
         $(HBMON_TELEGRAM_TOKEN=1:a "$bin/hbmon-notify" --sink stdout --check-config | keys); do
  grep -q "\*$k\*" "$ini" || fail "hbmon.ini(5) does not describe $k"
done
# Every verb in hbctl(1), every flag in hbmon-robot(1) and hbctl(1).
for v in $("$bin/hbctl" help | awk '/^Verbs:/ { on = 1; next } /^$/ { on = 0 }
                                     on && /^  [a-z]/ { print $1 }'); do
  grep -q "^\*$v" "$src/docs/man/hbctl.1.scd" || fail "hbctl(1) lacks the verb $v"
done
for f in $("$bin/hbmon-robot" --help | grep -o -- '--[a-z-]*' | sort -u); do
  grep -q -- "\*$f\*" "$src/docs/man/hbmon-robot.1.scd" || fail "hbmon-robot(1) lacks $f"
done
for f in $("$bin/hbctl" --help | sed -n '/^Global flags/,$p' | grep -o -- '--[a-z-]*' | sort -u); do
  grep -q -- "\*$f\*" "$src/docs/man/hbctl.1.scd" || fail "hbctl(1) lacks $f"
done

# Example settings: one for the server and one per sink, each checking
# out with the installed programs (secret files given as flags, since the
# examples name files under /etc/hbmon).
examples=$prefix/share/doc/hbmon/examples
printf 'secret\n' >"$work/secret"
chmod 600 "$work/secret"
"$bin/hbmon-server" --check-config --config "$examples/server.ini" >/dev/null \
  || fail "server.ini does not check out"
for sink in telegram email webhook exec stdout; do
  f=$examples/notify-$sink.ini
  test -f "$f" || fail "no example for the $sink sink"
  "$bin/hbmon-notify" --check-config --config "$f" \
    --telegram-token-file "$work/secret" --email-password-file "$work/secret" \
    --webhook-secret-file "$work/secret" >"$work/check.out" 2>&1 \
    || fail "notify-$sink.ini: $(cat "$work/check.out")"
  grep -qx "sink = $sink" "$work/check.out" || fail "notify-$sink.ini is not for $sink"
done
test -f "$examples/robot_example.c" || fail "no robot_example.c"

# The contract: every .proto, complete enough to compile on its own.
proto=$prefix/share/hbmon/proto
for p in heartbeat rpc monitor alert admin; do
  test -f "$proto/hbmon/v1/$p.proto" || fail "no $p.proto under share/hbmon/proto"
done
if command -v protoc >/dev/null; then
  (cd "$proto" && protoc -I. --include_imports -o "$work/all.desc" hbmon/v1/*.proto) \
    || fail "the installed .proto files do not compile"
fi
echo "1 passed, 0 failed"
