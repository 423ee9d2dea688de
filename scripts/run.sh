#!/usr/bin/env bash
# Set up .venv and run the app: http://127.0.0.1:7860. With an NVIDIA GPU (nvidia-smi answers) it installs
# requirements.txt, the full set a Space installs (models included); without one, the lighter requirements-cpu.txt
# (embedded defaults only). EDITGUARD_REQUIREMENTS=requirements.txt forces the full set.
set -euo pipefail
cd "$(dirname "$0")/.."
REQS=requirements-cpu.txt
if nvidia-smi -L >/dev/null 2>&1; then REQS=requirements.txt; fi
REQS=${EDITGUARD_REQUIREMENTS:-$REQS}
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r "$REQS"
exec .venv/bin/python app.py "$@"
