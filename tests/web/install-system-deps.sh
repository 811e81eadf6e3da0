#!/usr/bin/env bash
# System packages for tests/web: Debian's Chromium (driven by Playwright through executable_path, no
# browser download) and poppler-utils (pdftoppm, pdftotext, pdffonts render and read the PDF reports).
# fonts-dejavu-core is the fallback for the PDF font when app/web/fonts/ is not shipped.
# Run as root (or with sudo) on Debian/Ubuntu: bash tests/web/install-system-deps.sh
set -euo pipefail
if [ -x /usr/bin/chromium ] && command -v pdftoppm >/dev/null && [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium poppler-utils fonts-dejavu-core
