#!/usr/bin/env bash
# Make sure the programs the test suite runs besides PostgreSQL are on PATH: curl (the
# README's examples are run as printed) and chromium with a font (the browser tests,
# tests/browser/, drive it headless through playwright and keep screenshots, which need a
# font to show any text). Installs the distribution packages when running as root with
# apt-get; otherwise says what is missing.
set -euo pipefail

missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)
# CONCUR_SCIM_CHROMIUM names another Chromium build for the browser tests (tests/browser/).
if [[ -n "${CONCUR_SCIM_CHROMIUM:-}" ]]; then
    command -v "$CONCUR_SCIM_CHROMIUM" >/dev/null 2>&1 || {
        echo "error: CONCUR_SCIM_CHROMIUM=$CONCUR_SCIM_CHROMIUM is not an executable." >&2
        exit 1
    }
elif ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1 \
    && ! command -v google-chrome >/dev/null 2>&1; then
    missing+=(chromium)
fi
# Any TrueType/OpenType font fontconfig can find; Debian's chromium usually brings
# fonts-dejavu-core along (through fontconfig-config), but nothing guarantees it.
if [[ -z "$(find /usr/share/fonts /usr/local/share/fonts -type f \
    \( -name '*.ttf' -o -name '*.otf' -o -name '*.ttc' \) -print -quit 2>/dev/null)" ]]; then
    missing+=(fonts-dejavu-core)
fi

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi
if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    echo "error: the tests need ${missing[*]}; install it with your platform's package manager." >&2
    exit 1
fi
echo "Installing ${missing[*]} (apt-get)..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
