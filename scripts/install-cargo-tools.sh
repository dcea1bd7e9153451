#!/usr/bin/env bash
# Installs the pinned cargo plugins that .ci/run uses, from crates.io
# (`cargo install --locked`, so each tool builds with its own Cargo.lock):
#   cargo-deny     licences, bans (duplicate versions) and sources (deny.toml)
#   cargo-machete  unused dependencies
# into $HOME/.cache/mlx-manager/cargo-tools (or $1), with a build directory of
# their own so that the project's target directory is left as it is.
#
# Prints the bin directory on stdout (everything else goes to stderr), for
#   PATH="$(scripts/install-cargo-tools.sh):$PATH"
# A tool whose pinned version is already there is not rebuilt.
set -euo pipefail
root="${1:-$HOME/.cache/mlx-manager/cargo-tools}"
# Both build on the project's toolchain (cargo-deny 0.20.2 needs rustc 1.88).
tools=(
  cargo-deny=0.20.2
  cargo-machete=0.9.2
)

mkdir -p "$root"
for tool in "${tools[@]}"; do
  name="${tool%%=*}"
  version="${tool#*=}"
  bin="$root/bin/$name"
  # `cargo-deny --version` prints "cargo-deny 0.20.2"; cargo-machete prints
  # its version alone or after its name.
  if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -Eq "(^|[[:space:]])v?${version//./\\.}([[:space:]]|$)"; then
    echo "$name $version: already installed in $root" >&2
    continue
  fi
  echo "$name $version: installing into $root" >&2
  CARGO_TARGET_DIR="$HOME/.cache/mlx-manager/cargo-tools-target" \
    cargo install --locked --force --version "$version" --root "$root" "$name" >&2
done
echo "$root/bin"
