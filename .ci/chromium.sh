#!/usr/bin/env bash
# Installs Debian's Chromium, which cmd/eventrunner's TestConsoleInBrowser
# drives headless through chromedp (the web console at /console); without
# it the test skips, saying so.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  echo "== chromium: $(chromium --version 2>/dev/null)"
  exit 0
fi
echo "== chromium: installing chromium (apt)"
source "$(dirname "$0")/apt.sh"
apt_install chromium
chromium --version
