#!/usr/bin/env bash
# System packages the test suite needs beyond Python and Node.js (run by .ci/run before `make test`):
#   - chromium        Debian's Chromium at /usr/bin/chromium, driven by Playwright in the browser tests
#   - fonts-noto-cjk  Chinese glyphs, so screenshots and accessibility checks see real text
#   - clamav-daemon   /usr/sbin/clamd; the upload tests start a private clamd with the test signatures in
#                     onewindow/materials/tests/clamav/ (no virus definitions are downloaded, freshclam unused)
#   - poppler-utils   pdfsig, the independent check of the PAdES signatures on licences and letters
#   - libnss3-tools   certutil, to give pdfsig the platform root as a trust anchor in a throwaway NSS database
# Installs them with apt-get when they are missing and this runs as root on Debian/Ubuntu; otherwise prints
# what to install and exits 0 (the browser tests then skip themselves). It never downloads a browser build.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
if ! dpkg-query -W -f='${Status}' fonts-noto-cjk 2>/dev/null | grep -q "install ok installed"; then
  missing+=(fonts-noto-cjk)
fi
[ -x /usr/sbin/clamd ] || missing+=(clamav-daemon)
command -v pdfsig >/dev/null || missing+=(poppler-utils)
command -v certutil >/dev/null || missing+=(libnss3-tools)

# The toolchain `make` needs is not ours to install: say clearly what is missing.
command -v python3.11 >/dev/null || echo "setup_system: python3.11 not found (Python 3.11 is required)" >&2
if command -v node >/dev/null; then
  node_major=$(node --version | sed -E 's/^v([0-9]+).*/\1/')
  [ "$node_major" -ge 20 ] || echo "setup_system: Node.js $(node --version) found; version 20 or later is required" >&2
else
  echo "setup_system: node not found (Node.js 20 or later with npm is required)" >&2
fi

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup_system: chromium, fonts-noto-cjk, clamav-daemon, poppler-utils and libnss3-tools present"
  exit 0
fi

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
  echo "setup_system: installing ${missing[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup_system: missing ${missing[*]}; install with: sudo apt-get install ${missing[*]}" >&2
  echo "setup_system: until then the browser tests (and, without clamd, the virus-scan tests; without pdfsig, the independent PDF signature checks) are skipped" >&2
fi
