#!/usr/bin/env bash
# npm's pretest: the tests need two programs that a fresh Debian machine with
# Node and npm lacks: Debian's chromium, for the page (test/support/browser.ts;
# CHROMIUM_PATH overrides where it is), and strace, which records a server's
# system calls to prove the order of its fsyncs (STRACE_PATH overrides). When
# one is missing, install it where this can (root on Debian, with apt-get);
# otherwise stop with one line saying what to run. No test is ever skipped.
set -uo pipefail
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
strace="${STRACE_PATH:-$(command -v strace || echo /usr/bin/strace)}"

missing() {
  local packages=()
  [ -x "$chromium" ] || packages+=(chromium)
  [ -x "$strace" ] || packages+=(strace)
  echo "${packages[@]}"
}

need="$(missing)"
[ -z "$need" ] && exit 0

if [ "$EUID" -eq 0 ] && [ -r /etc/debian_version ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-test-tools: installing Debian's $need for the tests" >&2
  # shellcheck disable=SC2086
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
  need="$(missing)"
  [ -z "$need" ] && exit 0
fi

echo "gitchat's tests need $need (Chromium at $chromium, strace on PATH): run \`sudo apt-get install $need\` (or set CHROMIUM_PATH / STRACE_PATH)" >&2
exit 1
