#!/usr/bin/env bash
# The Dockerfile's steps without a container engine: a fresh virtual environment gets
# requirements.lock, then the project with --no-deps (the build stage), and its
# `concur-scim serve` must answer the image's HEALTHCHECK (GET /readyz 200) on a new SQLite
# file, run as the runtime stage runs it (the venv's bin first on PATH, the image's
# environment). Usage: scripts/image-steps.sh WORKDIR [PYTHON]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
workdir="$1"
python="${2:-python3}"
venv="$workdir/opt-concur-scim"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1

# Build stage (the files COPY'd into /src, as .dockerignore lets them through).
mkdir -p "$workdir/src" "$workdir/data"
cp "$root/requirements.lock" "$root/pyproject.toml" "$root/README.md" "$root/alembic.ini" "$workdir/src/"
cp -r "$root/src" "$root/migrations" "$workdir/src/"
"$python" -m venv "$venv"
"$venv/bin/pip" install -q -r "$workdir/src/requirements.lock"
(cd "$workdir/src" && "$venv/bin/pip" install -q --no-deps .)

# Runtime stage: the environment of the image, the CMD, then the HEALTHCHECK.
port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
env -i PATH="$venv/bin:/usr/bin:/bin" HOME="$workdir" PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    CONCUR_SCIM_DATABASE_URL="sqlite:///$workdir/data/concur-scim.db" \
    CONCUR_SCIM_ISSUER=http://localhost:8000 \
    concur-scim serve --host 127.0.0.1 --port "$port" > "$workdir/serve.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
healthcheck="import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:$port/readyz', timeout=2).status != 200)"
for _ in $(seq 1 100); do
    if PATH="$venv/bin:/usr/bin:/bin" python -c "$healthcheck" 2>/dev/null; then
        echo "healthy: GET /readyz 200 on port $port"
        # The console's templates and assets come from the installed package, not the tree.
        console="import sys, urllib.request; [urllib.request.urlopen('http://127.0.0.1:$port' + p, timeout=5) for p in ('/console/login', '/console/static/console.js')]"
        PATH="$venv/bin:/usr/bin:/bin" python -c "$console"
        echo "console: GET /console/login and its script 200"
        exit 0
    fi
    sleep 0.2
done
echo "error: the image's HEALTHCHECK never passed; serve's log:" >&2
cat "$workdir/serve.log" >&2
exit 1
