#!/usr/bin/env bash
# Creates .venv beside this file and installs the pinned requirements (idempotent).
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
