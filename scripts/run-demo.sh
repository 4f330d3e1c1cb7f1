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
  echo "Starting the local sync server on http://127.0.0.1:8470 (log: $DEMO/server.log)"
  "$BIN/motcua-server" --data-dir "$DEMO/server" serve --host 127.0.0.1 --port 8470 \
    >"$DEMO/server.log" 2>&1 &
  SERVER_PID=$!
  trap 'kill "$SERVER_PID" 2>/dev/null || true' EXIT
else
  echo "motcua-server is not installed: the desktop runs alone (sync not configured)"
fi

"$BIN/motcua-desktop" --data-dir "$DESK" "$@"
