#!/usr/bin/env bash
# The Python client's checks, as CI runs them: install the pinned tools
# (scripts/install.sh), fail when mlx_manager_client/generated/ is stale against
# ../openapi.json or the generator warns (scripts/generate.py --check), lint the
# hand-written code (ruff), then the tests against a live server (pytest; the
# server binary is $MLX_MANAGER_BIN or is built as tests/conftest.py says).
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(scripts/install.sh)"
export RUFF_NO_CACHE=true
"$venv/bin/python" scripts/generate.py --check
"$venv/bin/ruff" check --quiet .
"$venv/bin/ruff" format --check --quiet .
"$venv/bin/python" -m pytest "$@"
