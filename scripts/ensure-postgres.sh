#!/usr/bin/env bash
# Make sure PostgreSQL server binaries (initdb, pg_ctl, postgres) are available.
# Installs the distribution package when running as root; otherwise explains how.
# On success, the last line on stdout is the directory holding the binaries.
set -euo pipefail

has_server_binaries() {
    local dir="$1"
    [[ -n "$dir" && -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/postgres" ]]
}

find_bindir() {
    local dir
    if command -v pg_config >/dev/null 2>&1; then
        # pg_config may come from libpq-dev alone, so check the server binaries exist.
        dir="$(pg_config --bindir 2>/dev/null || true)"
        if has_server_binaries "$dir"; then
            printf '%s\n' "$dir"
            return 0
        fi
    fi
    # Highest version first.
    while IFS= read -r dir; do
        if has_server_binaries "$dir"; then
            printf '%s\n' "$dir"
            return 0
        fi
    done < <(compgen -G '/usr/lib/postgresql/*/bin' | sort -t/ -k5,5 -V -r)
    return 1
}

is_root() {
    [[ "$(id -u)" -eq 0 ]]
}

bindir="$(find_bindir || true)"

if [[ -z "$bindir" ]]; then
    if ! is_root; then
        echo "error: PostgreSQL server binaries (initdb, pg_ctl, postgres) are needed for the tests;" \
            "install them with 'sudo apt-get install postgresql' (or your platform's equivalent)," \
            "or set CONCUR_SCIM_TEST_PG_URL to an existing database." >&2
        exit 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "error: PostgreSQL server binaries are needed and apt-get is not available;" \
            "install PostgreSQL with your platform's package manager." >&2
        exit 1
    fi
    echo "Installing PostgreSQL (apt-get)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null
    bindir="$(find_bindir || true)"
    if [[ -z "$bindir" ]]; then
        echo "error: installed the postgresql package but found no initdb/pg_ctl/postgres" \
            "under 'pg_config --bindir' or /usr/lib/postgresql/*/bin." >&2
        exit 1
    fi
fi

# initdb refuses to run as root, so the test cluster runs as the 'postgres' system user.
if is_root && ! id -u postgres >/dev/null 2>&1; then
    useradd --system --no-create-home postgres
fi

printf '%s\n' "$bindir"
