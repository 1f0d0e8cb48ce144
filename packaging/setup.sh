#!/usr/bin/env bash
# Installs what SCOPE needs on Debian/Ubuntu, and only what is missing.
#
#   packaging/setup.sh run    what building and running the app and the super-node need
#   packaging/setup.sh test   the above, plus what the test suite and CI use
#
# Rust itself (rustup, cargo) is assumed to be installed: https://rustup.rs
# Uses sudo only when not already root. Safe to run again: it does nothing once all is there.
set -euo pipefail

mode="${1:-}"
case "$mode" in
  # The window's libraries (X11 or Wayland, GL, xkb) are loaded at run time; a desktop has them,
  # a minimal install may not.
  run) packages=(build-essential pkg-config libxkbcommon-x11-0 libegl1 libgl1 libxcursor1 libxi6 libxrandr2 libwayland-client0) ;;
  # procps: the tests signal daemons with kill(1); iproute2 and curl: the (ignored by
  # default, root-only) mDNS test between network namespaces; sip-tester (sipp) and baresip:
  # the real SIP peers of the SIP tests; mesa-vulkan-drivers: a CPU adapter for the GUI snapshot
  # tests; xvfb, xdotool, x11-utils and imagemagick: the test that runs the real window headless.
  test) packages=(build-essential pkg-config procps iproute2 curl sip-tester baresip mesa-vulkan-drivers xvfb xdotool x11-utils imagemagick) ;;
  *)
    echo "usage: $0 run|test" >&2
    exit 2
    ;;
esac

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo not found; install Rust from https://rustup.rs and run this again" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} > 0)); then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: not a Debian/Ubuntu system; please install: ${missing[*]}" >&2
    exit 1
  fi
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
  echo "setup: installing ${missing[*]}" >&2
  # Another apt may hold the lists lock for a while; DPkg::Lock::Timeout does not cover it.
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if "${sudo[@]}" apt-get update -q; then break; fi
    if [ "$attempt" -eq 10 ]; then
      echo "setup: apt-get update keeps failing" >&2
      exit 1
    fi
    sleep 6
  done
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
    -o DPkg::Lock::Timeout=600 --no-install-recommends "${missing[@]}"
fi

if [ "$mode" = test ] && command -v rustup >/dev/null 2>&1; then
  # CI checks formatting and lints; the minimal rustup profile lacks both.
  for c in rustfmt clippy; do
    if ! rustup component list --installed 2>/dev/null | grep -q "^$c"; then
      rustup component add "$c"
    fi
  done
fi
