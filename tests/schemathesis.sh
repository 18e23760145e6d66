#!/usr/bin/env bash
# Schema-based API fuzzing: schemathesis generates requests from /openapi.json and checks that
# no answer is a 5xx and every answer matches the documented status codes, content type and
# schemas. Installs schemathesis into target/ (PyPI), runs against a throw-away `serve`.
# Usage: tests/schemathesis.sh [path/to/snapqris]   (default: target/debug/snapqris)
set -euo pipefail
cd "$(dirname "$0")/.."

binary="${1:-target/debug/snapqris}"
venv=target/schemathesis-venv
if [ ! -x "$venv/bin/schemathesis" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "schemathesis==4.32.5"
fi

work=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$binary" --database "sqlite://$work/schemathesis.db" serve --listen 127.0.0.1:0 \
  >"$work/stdout" 2>"$work/stderr" &
server_pid=$!
for _ in $(seq 1 100); do
  grep -q '^listening on ' "$work/stdout" 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's/^listening on //p' "$work/stdout")
[ -n "$url" ] || { echo "schemathesis: the server did not start"; cat "$work/stderr"; exit 1; }

"$venv/bin/schemathesis" run "$url/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples 50 --workers 2 --seed 1 --warnings off
