#!/usr/bin/env bash
# The page tests drive Debian's Chromium (never a browser downloaded by Playwright).
# Install it with apt when it is missing; CHROMIUM may name another binary.
set -euo pipefail
bin=${CHROMIUM:-/usr/bin/chromium}
if [ -x "$bin" ]; then
    exit 0
fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
[ -x "$bin" ] || { echo "Chromium is needed at $bin for the page tests (apt-get install chromium)" >&2; exit 1; }
