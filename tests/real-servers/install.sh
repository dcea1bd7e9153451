#!/usr/bin/env bash
# Installs the command lines of real mlx-openai-server releases, for
# tests/api/real_servers.rs: each release's wheel from PyPI (`pip download
# --no-deps`, hash-checked by pip), unpacked as it is, plus the few packages its
# `app/cli.py` imports (click, loguru, pydantic, pyyaml, openai-harmony,
# json_repair, xxhash) in one virtual environment. A plain `pip install
# mlx-openai-server` does not resolve on Linux (its MLX dependencies conflict),
# and the tests need only the parser: mlx_openai_server.py runs the release's own
# Click command with the model runtime stubbed.
#
# Prints the directory to put in TEST_MLX_OPENAI_SERVER_RELEASES. Reuses
# what an earlier run installed there; only a missing release is fetched.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="${1:-$HOME/.cache/mlx-manager/real-servers}"
# The newest release, both sides of each option change (1.7.0, 1.8.0), a 1.6.x
# and the oldest supported.
versions=(1.5.0 1.6.3 1.7.0 1.7.1 1.8.0 1.8.1)
deps=(
  'click>=8.2.1,<8.4' 'loguru>=0.7.3,<0.8' 'pydantic>=2,<3' 'PyYAML>=6.0,<7'
  'openai-harmony>=0.0.8,<0.1' 'json_repair>=0.52.1,<0.60' 'xxhash>=3.6,<4'
)
pip_quiet=(--quiet --disable-pip-version-check --no-input)

mkdir -p "$root"
venv="$root/venv"
stamp="$venv/.installed-$(printf '%s\n' "${deps[@]}" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
  rm -rf "$venv"
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/pip" install "${pip_quiet[@]}" "${deps[@]}"
  touch "$stamp"
fi
cp "$here/mlx_openai_server.py" "$root/mlx_openai_server.py"

for v in "${versions[@]}"; do
  dir="$root/$v"
  if [ ! -f "$dir/app/cli.py" ]; then
    tmp="$(mktemp -d)"
    "$venv/bin/pip" download "${pip_quiet[@]}" --no-deps -d "$tmp" "mlx-openai-server==$v"
    rm -rf "$dir"
    mkdir -p "$dir"
    "$venv/bin/python" -m zipfile -e "$tmp"/mlx_openai_server-"$v"-*.whl "$dir"
    rm -rf "$tmp"
  fi
  mkdir -p "$dir/bin"
  cat > "$dir/bin/mlx-openai-server" <<LAUNCHER
#!/bin/sh
MLX_OPENAI_SERVER_APP='$dir' exec '$venv/bin/python' '$root/mlx_openai_server.py' "\$@"
LAUNCHER
  chmod 755 "$dir/bin/mlx-openai-server"
done
echo "$root"
