#!/usr/bin/env bash
# Prepares a fresh clone: the Python environment in .venv, debootstrap, which the node image
# build needs on a machine without a container registry, and chromium, in which the tests open
# report.html. Safe to run again; quick the second time.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v debootstrap >/dev/null 2>&1 && [ ! -x /usr/sbin/debootstrap ]; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  else
    echo "setup: debootstrap is missing; install it with: sudo apt-get install debootstrap" >&2
  fi
fi
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "setup: chromium is missing; install it with: sudo apt-get install chromium" >&2
  fi
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'
