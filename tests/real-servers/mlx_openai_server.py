"""A real mlx-openai-server release's command line, without its model runtime.

Runs the release's own ``app/cli.py`` (from its PyPI wheel, unpacked into
``MLX_OPENAI_SERVER_APP``) unchanged: the real Click group, the real ``launch``
options and their checks, and the real ``MLXServerConfig`` built from them. Only
the model-loading runtime is replaced: ``app.main`` (which needs FastAPI, uvicorn
and the MLX libraries, and does not install on Linux), and the image models'
runtime, ``mflux`` and ``app.models.mflux`` (which 1.6 to 1.8.0 import to learn
the Flux config names; stubbed with none, which those releases read as "any
name", and the manager passes no ``--config-name``). Where the real server would load the model and serve, this
prints the configuration it would have served with as one JSON line and exits 0.

Used by ``tests/real_servers.rs`` through the per-version launchers that
``tests/real-servers/install.sh`` writes.
"""

import dataclasses
import json
import os
import sys
import types


def _describe(config):
    if dataclasses.is_dataclass(config):
        return dataclasses.asdict(config)
    if hasattr(config, "model_dump"):
        return config.model_dump()
    return vars(config)


async def _serve(config, *_args, **_kwargs):
    print(json.dumps({"launched": _describe(config)}, default=str), flush=True)


def main():
    sys.path.insert(0, os.environ["MLX_OPENAI_SERVER_APP"])
    import app  # the release's own package (its __init__ only reads the version)

    runtime = types.ModuleType("app.main")
    runtime.start = _serve
    runtime.start_multi = _serve
    sys.modules["app.main"] = runtime
    sys.modules.setdefault("mflux", types.ModuleType("mflux"))
    import app.models  # an empty package in every release

    flux = types.ModuleType("app.models.mflux")
    flux.IMAGE_CONFIG_NAMES = ()
    sys.modules["app.models.mflux"] = flux

    from app.cli import cli

    cli(prog_name="mlx-openai-server")


if __name__ == "__main__":
    main()
