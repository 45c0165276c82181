#!/usr/bin/env bash
# Installs hbmon into a scratch prefix and checks its systemd units: they
# are Type=notify with a watchdog, run the installed binaries as the hbmon
# user with the usual hardening, and `systemd-analyze verify` finds
# nothing to say about them (any warning fails the test). Without
# systemd-analyze the test is skipped (exit 77), saying so.
#   systemd_units_test.sh BUILD_DIR
set -euo pipefail
build=$1
if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze not found (apt-get install systemd)"
  exit 77
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/hbmon-units-XXXXXX")
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
units=$work/prefix/lib/systemd/system
test -f "$work/prefix/lib/sysusers.d/hbmon.conf" ||
  { echo "no sysusers.d file for the hbmon user"; exit 1; }
for unit in hbmon-server.service hbmon-notify@.service; do
  f=$units/$unit
  test -f "$f" || { echo "not installed: $f"; exit 1; }
  for want in Type=notify NotifyAccess=main WatchdogSec= Restart=on-failure \
              User=hbmon StateDirectory=hbmon ProtectSystem=strict \
              NoNewPrivileges=yes PrivateTmp=yes ProtectHome=yes \
              CapabilityBoundingSet= "ExecStart=$work/prefix/bin/"; do
    grep -q "^$want" "$f" || { echo "$unit: no $want"; exit 1; }
  done
done

# verify prints warnings (unknown keys, bad values) but exits 0 for
# them: its output must be empty. An instance of the template is checked
# the way systemd would load it.
for unit in "$units/hbmon-server.service" "$units/hbmon-notify@telegram.service"; do
  out=$(cd "$units" && systemd-analyze verify --man=no "$unit" 2>&1) ||
    { echo "systemd-analyze verify $unit failed:"; echo "$out"; exit 1; }
  if [ -n "$out" ]; then
    echo "systemd-analyze verify $unit:"; echo "$out"; exit 1
  fi
done
echo "units verified: hbmon-server.service hbmon-notify@.service"
