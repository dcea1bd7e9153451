"""A real mlx-manager for the tests (as openapi/client/test/server.ts starts one).

The binary is `$MLX_MANAGER_BIN` when set; otherwise it is built with
`cargo build --bin mlx-manager` under `flock --close /tmp/mlx-cargo.lock` (one
cargo at a time on a shared machine) and copied out of the shared target
directory while the lock is held. The server gets an in-memory store, a fresh
data directory as its working directory (so no config.toml), a free loopback
port and cheap Argon2 parameters; it is stopped (SIGTERM, then SIGKILL) at the
end of the session.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[3]
READY_DEADLINE_S = 60
STOP_DEADLINE_S = 10


@dataclass
class RunningServer:
    """A started server: its origin and the log file it writes to."""

    base_url: str
    log: Path

    def output(self) -> str:
        """What the server printed so far (for failure messages)."""
        return self.log.read_text(errors="replace")


def _binary(tmp: Path) -> Path:
    if os.environ.get("MLX_MANAGER_BIN"):
        return Path(os.environ["MLX_MANAGER_BIN"])
    dest = tmp / "mlx-manager"
    env = {**os.environ}
    env.setdefault("CARGO_TARGET_DIR", str(Path.home() / ".cache/mlx-manager/target"))
    script = 'cargo build --quiet --bin mlx-manager && cp "$CARGO_TARGET_DIR/debug/mlx-manager" "$1"'
    cmd = ["sh", "-c", script, "sh", str(dest)]
    if shutil.which("flock"):
        cmd = ["flock", "--close", "/tmp/mlx-cargo.lock", *cmd]
    subprocess.run(cmd, cwd=REPO, env=env, check=True, stdin=subprocess.DEVNULL)
    return dest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server() -> Iterator[RunningServer]:
    """Start a server and wait until `/ready` answers 200."""
    with tempfile.TemporaryDirectory(prefix="mlx-manager-py-") as tmp_name:
        tmp = Path(tmp_name)
        binary = _binary(tmp)
        data_dir = tmp / "data"
        data_dir.mkdir()
        port = _free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLX_MANAGER_")}
        env.update(
            MLX_MANAGER_DATABASE__URL="mem://",
            MLX_MANAGER_SERVER__HOST="127.0.0.1",
            MLX_MANAGER_SERVER__PORT=str(port),
            MLX_MANAGER_PATHS__DATA_DIR=str(data_dir),
            MLX_MANAGER_PLUGINS__AUTH__ARGON2__MEMORY_KIB="1024",
            MLX_MANAGER_PLUGINS__AUTH__ARGON2__ITERATIONS="1",
        )
        log = tmp / "server.log"
        with log.open("wb") as out:
            child = subprocess.Popen(
                [str(binary), "serve"], cwd=data_dir, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out
            )
        running = RunningServer(base_url=f"http://127.0.0.1:{port}", log=log)
        try:
            deadline = time.monotonic() + READY_DEADLINE_S
            while True:
                if child.poll() is not None:
                    pytest.fail(f"mlx-manager exited before it was ready:\n{running.output()}")
                try:
                    if httpx.get(f"{running.base_url}/ready", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass  # not listening yet
                if time.monotonic() > deadline:
                    pytest.fail(f"mlx-manager was not ready within {READY_DEADLINE_S} s:\n{running.output()}")
                time.sleep(0.1)
            yield running
        finally:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
                try:
                    child.wait(STOP_DEADLINE_S)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait()
