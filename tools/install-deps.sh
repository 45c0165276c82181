#!/usr/bin/env bash
# Installs the Debian bookworm packages hbmon builds, tests and runs with.
# Only what is missing is installed; when everything is present, apt is not
# touched at all (so a prepared machine needs no network).
set -euo pipefail

packages=(
  # build; man pages (scdoc); the time zone database --tz reads
  cmake make gcc pkg-config scdoc tzdata
  # wire contract: protoc, protobuf-c (server side), nanopb (robot side)
  protobuf-compiler protobuf-c-compiler libprotobuf-c-dev
  nanopb libnanopb-dev python3-protobuf
  # transport, crypto, storage, config, JSON, HTTP/SMTP
  libnng-dev libmbedtls-dev libsqlite3-dev libinih-dev libjansson-dev
  libcurl4-openssl-dev
  # systemd: sd_notify (READY, WATCHDOG, STOPPING); systemd-analyze checks
  # the units in the tests
  libsystemd-dev systemd
  # tests: Criterion, a real SMTP server, nngcat, wall-clock jumps,
  # certificates made at test time
  libcriterion-dev python3 python3-aiosmtpd nng-utils faketime sqlite3
  openssl
  # tests: the HTTP door driven by the real curl and Python requests
  curl python3-requests
  # tests of the HTTP views: promtool (Debian's prometheus) checks
  # /metrics, headless chromium renders the status page with a font of
  # its own
  prometheus chromium fonts-dejavu-core
  # packaging: cpack -G DEB (dpkg-shlibdeps) and its check
  dpkg-dev lintian
)

# `install-deps.sh fuzz` also brings clang and libFuzzer (tools/run-fuzz.sh).
if [ "${1:-}" = fuzz ]; then
  packages+=(clang libclang-rt-14-dev)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root, or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
