#!/usr/bin/env bash
# `make run`: a demo branch (created once), the local sync server when it is installed,
# then the counter desktop. Demo users: admin, canbo1, chuyenvien1, lanhdao1 — password
# "motcua-demo". Override the folder with MOTCUA_DEMO_DIR, the language with MOTCUA_LANG.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${BIN:-.venv/bin}"
DEMO="${MOTCUA_DEMO_DIR:-$PWD/.demo}"
DESK="$DEMO/desk"
export MOTCUA_USER=admin MOTCUA_PASSWORD=motcua-demo

if [ ! -f "$DESK/motcua.db" ]; then
  echo "Creating the demo branch in $DESK"
  "$BIN/motcua" --data-dir "$DESK" init --unit-code TAYHO \
    --branch-name "Trung tâm Phục vụ hành chính công phường Tây Hồ" >/dev/null
fi
"$BIN/python" -m desktop.demo "$DESK"

SERVER_PID=""
if [ -x "$BIN/motcua-server" ]; then
  SERVER="$BIN/motcua-server --data-dir $DEMO/server"
  URL="http://127.0.0.1:${MOTCUA_DEMO_PORT:-8470}"
  if [ ! -f "$DEMO/server/.demo-branch" ]; then
    $SERVER branch add TAYHO --name "Trung tâm Phục vụ hành chính công phường Tây Hồ" >/dev/null
    touch "$DEMO/server/.demo-branch"
  fi
  echo "Starting the local sync server on $URL (log: $DEMO/server.log)"
  $SERVER serve --host 127.0.0.1 --port "${URL##*:}" >"$DEMO/server.log" 2>&1 &
  SERVER_PID=$!
  trap 'kill "$SERVER_PID" 2>/dev/null || true' EXIT
  for _ in $(seq 50); do
    "$BIN/python" -c "import requests,sys; requests.get(sys.argv[1] + '/v1/health', timeout=1)" "$URL" \
      2>/dev/null && break
    sleep 0.2
  done
  if [ ! -f "$DESK/.demo-enrolled" ]; then
    code=$($SERVER --json enroll-code --branch TAYHO | "$BIN/python" -c "import json,sys; print(json.load(sys.stdin)['code'])")
    "$BIN/motcua" --data-dir "$DESK" enroll --server "$URL" --code "$code" --label "Quầy 1" >/dev/null
    touch "$DESK/.demo-enrolled"
    echo "Enrolled the demo desktop with the local server"
  fi
else
  echo "motcua-server is not installed: the desktop runs alone (sync not configured)"
fi

"$BIN/motcua-desktop" --data-dir "$DESK" "$@"
