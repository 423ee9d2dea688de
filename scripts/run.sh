#!/usr/bin/env bash
# Set up .venv (first time) and run the app on embedded defaults: http://127.0.0.1:7860
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
exec .venv/bin/python app.py "$@"
