#!/usr/bin/env bash
# Installs the Python client's tools (requirements-dev.txt beside this folder:
# openapi-python-client, ruff, pytest, setuptools and the client's runtime
# dependencies, every version pinned) into one virtual environment, from PyPI.
# Reuses the environment while requirements-dev.txt is unchanged.
#
# Prints the environment's directory; scripts/generate.py, the tests and
# openapi/client/scripts/check-generators.mjs run its programs.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
venv="${1:-$HOME/.cache/mlx-manager/python-client/venv}"
requirements="$here/requirements-dev.txt"
stamp="$venv/.installed-$(sha256sum "$requirements" | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  rm -rf "$venv"
  mkdir -p "$(dirname "$venv")"
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input \
    --no-deps --require-virtualenv -r "$requirements" >&2
  "$venv/bin/pip" check >&2
  touch "$stamp"
fi
echo "$venv"
