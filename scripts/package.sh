#!/usr/bin/env bash
# Frozen bundles and Linux packages (`make package`): see installers/package.py.
#   scripts/package.sh                    both bundles and both .deb files into dist/
#   scripts/package.sh bundle desktop     print the (cached) bundle folder
#   scripts/package.sh deb server --out DIR
# Bundles are cached by a hash of their inputs in ${XDG_CACHE_HOME:-~/.cache}/motcua/bundle
# (MOTCUA_BUNDLE_CACHE to move it); the first build takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
if [ $# -eq 0 ]; then
  set -- all
fi
exec "$PY" installers/package.py "$@"
