#!/usr/bin/env bash
# Make sure the programs the test suite runs besides PostgreSQL are on PATH: curl (the
# README's examples are run as printed). Installs the distribution packages when running as
# root with apt-get; otherwise says what is missing.
set -euo pipefail

missing=()
command -v curl >/dev/null 2>&1 || missing+=(curl)

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
