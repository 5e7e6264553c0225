#!/usr/bin/env bash
# npm's pretest: the page is tested in a real browser, Debian's chromium
# (test/support/browser.ts; CHROMIUM_PATH overrides where it is). When it is
# missing, install it where this can (root on Debian, with apt-get); otherwise
# stop with one line saying what to run. The browser tests are never skipped.
set -uo pipefail
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
[ -x "$chromium" ] && exit 0

if [ "$EUID" -eq 0 ] && [ -r /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $chromium is missing; installing Debian's chromium for the browser tests" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  [ -x "$chromium" ] && exit 0
fi

echo "gitchat's browser tests need Chromium at $chromium: run \`sudo apt-get install chromium\` (or set CHROMIUM_PATH to a Chromium binary)" >&2
exit 1
