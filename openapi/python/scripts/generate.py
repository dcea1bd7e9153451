"""Generate the Python client from openapi/openapi.json with openapi-python-client.

    python scripts/generate.py           # write mlx_manager_client/generated/
    python scripts/generate.py --check   # fail when the committed code is stale

Run it with the Python of the tools' environment (`scripts/install.sh` prints
its directory), so that the pinned generator and its ruff post-hooks are the
ones used. The code is always generated into a temporary folder first (ruff
then sees the same settings wherever the result goes), with
`--fail-on-warning`: any warning, such as a schema or response the generator
could not read, fails the run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
DOCUMENT = HERE.parent / "openapi.json"
SETTINGS = HERE / "generator.yaml"
COMMITTED = HERE / "mlx_manager_client" / "generated"
IGNORED = {"__pycache__", ".ruff_cache"}


def generate(into: Path) -> None:
    """Run the generator on the document, writing the package to `into`."""
    bin_dir = Path(sys.executable).parent
    generator = bin_dir / "openapi-python-client"
    if not generator.exists():
        sys.exit(f"{generator} is missing: run openapi/python/scripts/install.sh and use its Python")
    # ruff (the generator's post-hooks) from the same environment, leaving no cache behind.
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "RUFF_NO_CACHE": "true"}
    out = subprocess.run(
        [
            str(generator),
            "generate",
            "--path",
            str(DOCUMENT),
            "--output-path",
            str(into),
            "--meta",
            "none",
            "--config",
            str(SETTINGS),
            "--fail-on-warning",
        ],
        check=False,
        env=env,
        cwd=into.parent,
        capture_output=True,
        text=True,
    )
    # The only line of a clean run is "Generating <path>".
    noise = [
        line for line in (out.stdout + out.stderr).splitlines() if line.strip() and not line.startswith("Generating ")
    ]
    if out.returncode != 0 or noise:
        sys.stderr.write(out.stdout + out.stderr)
        sys.exit(f"openapi-python-client did not read {DOCUMENT} cleanly (exit {out.returncode})")


def files(root: Path) -> dict[str, bytes]:
    """Every file below `root` (caches left out), by relative path."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not IGNORED.intersection(path.relative_to(root).parts):
            found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed code instead of writing it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mlx-python-client-") as tmp:
        fresh = Path(tmp) / "generated"
        generate(fresh)
        if args.check:
            want, have = files(fresh), files(COMMITTED) if COMMITTED.is_dir() else {}
            problems = [f"missing: {n}" for n in want if n not in have]
            problems += [f"differs: {n}" for n in want if n in have and have[n] != want[n]]
            problems += [f"not generated: {n}" for n in have if n not in want]
            if problems:
                print(f"{COMMITTED.relative_to(HERE)}/ is stale against openapi/openapi.json:", file=sys.stderr)
                print("  " + "\n  ".join(problems), file=sys.stderr)
                print(
                    "Run `python scripts/generate.py` in openapi/python (with the Python of"
                    " scripts/install.sh's environment) and commit the result.",
                    file=sys.stderr,
                )
                return 1
            print(f"{COMMITTED.relative_to(HERE)}/ matches openapi/openapi.json ({len(want)} files)")
            return 0
        if COMMITTED.exists():
            shutil.rmtree(COMMITTED)
        shutil.copytree(fresh, COMMITTED)
        print(f"wrote {COMMITTED.relative_to(HERE)}/ ({len(files(COMMITTED))} files)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
