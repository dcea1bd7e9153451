"""The generated Python client and its helpers against a real server: register,
log in, read `me`, create, list and delete a profile, read a log stream, and
401s (bad and revoked tokens) as `ApiRequestError`."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlx_manager_client import ApiRequestError, Client, check, download_events, log_events, login, logout, token_client
from mlx_manager_client.generated.api.auth import get_me, register
from mlx_manager_client.generated.api.profiles import create_profile, delete_profile, get_profile, list_profiles
from mlx_manager_client.generated.models import (
    ApiError,
    LogEventKind,
    ModelType,
    Profile,
    ProfileCreate,
    RegisterRequest,
    User,
    UserStatus,
)
from mlx_manager_client.generated.types import UNSET

PACKAGE_DIR = Path(__file__).resolve().parents[1]
DOCUMENT = PACKAGE_DIR.parent / "openapi.json"
PASSWORD = "correct horse battery"
ADMIN = "admin@example.com"


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower().replace("-", "_")


def test_every_operation_of_the_document_has_a_generated_module():
    doc = json.loads(DOCUMENT.read_text())
    missing = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            name = f"mlx_manager_client.generated.api.{snake(op['tags'][0])}.{snake(op['operationId'])}"
            try:
                module = importlib.import_module(name)
            except ImportError:
                missing.append(f"{method.upper()} {path} ({name})")
                continue
            if not all(hasattr(module, f) for f in ("sync", "sync_detailed", "asyncio", "asyncio_detailed")):
                missing.append(f"{method.upper()} {path} ({name} lacks a function)")
    assert missing == []


def test_the_first_account_registers_as_an_approved_admin(server):
    with Client(base_url=server.base_url) as anonymous:
        response = register.sync_detailed(client=anonymous, body=RegisterRequest(email=ADMIN, password=PASSWORD))
    assert response.status_code == 201
    user = check(response)
    assert isinstance(user, User)
    assert user.email == ADMIN
    assert user.is_admin is True
    assert user.status is UserStatus.APPROVED


def test_a_wrong_password_is_a_401_api_request_error(server):
    with pytest.raises(ApiRequestError) as failed:
        login(server.base_url, ADMIN, "wrong password!")
    assert failed.value.status == 401
    assert failed.value.code == "invalid_credentials"
    assert failed.value.detail == "Incorrect email or password"


@pytest.fixture(scope="module")
def admin(server):
    client = login(server.base_url, ADMIN, PASSWORD)
    yield client
    client.get_httpx_client().close()


def test_login_gives_a_client_whose_bearer_token_me_accepts(admin):
    me = check(get_me.sync_detailed(client=admin))
    assert isinstance(me, User)
    assert me.email == ADMIN


def test_a_profile_is_created_listed_streamed_and_deleted(admin):
    body = ProfileCreate(name="py-client-profile", model_path="mlx-community/Qwen3-0.6B-4bit", model_type=ModelType.LM)
    created = create_profile.sync_detailed(client=admin, body=body)
    assert created.status_code == 201, created.content
    profile = check(created)
    assert isinstance(profile, Profile)
    assert profile.name == body.name
    assert profile.model_path == body.model_path
    assert profile.model_type is ModelType.LM
    assert profile.port >= 1024  # left out, so the next free port was taken

    listed = check(list_profiles.sync_detailed(client=admin))
    assert [p.name for p in listed if p.id == profile.id] == [body.name]

    # Its server does not run, so the log stream ends at once with `stopped`.
    events = list(log_events(admin, profile.id, lines=10))
    assert [e.event for e in events][-1:] == [LogEventKind.STOPPED]

    with pytest.raises(ApiRequestError) as refused:
        list(log_events(admin, "no-such-profile"))
    assert (refused.value.status, refused.value.code) == (404, "profile_not_found")
    with pytest.raises(ApiRequestError) as unknown_task:
        list(download_events(admin, "no-such-task"))
    assert (unknown_task.value.status, unknown_task.value.code) == (404, "task_not_found")

    assert check(delete_profile.sync_detailed(client=admin, id=profile.id)) is None
    assert [p.id for p in check(list_profiles.sync_detailed(client=admin))].count(profile.id) == 0
    with pytest.raises(ApiRequestError) as gone:
        check(get_profile.sync_detailed(client=admin, id=profile.id))
    assert (gone.value.status, gone.value.code) == (404, "profile_not_found")


def test_a_bad_token_is_a_401_the_client_reads_as_an_api_error(server):
    with token_client(server.base_url, "not-a-token") as client:
        response = get_me.sync_detailed(client=client)
        assert response.status_code == 401
        assert isinstance(response.parsed, ApiError)
        assert response.parsed.code == "invalid_token"
        assert response.headers["www-authenticate"].lower().startswith("bearer")
        with pytest.raises(ApiRequestError) as failed:
            check(response)
        assert failed.value.status == 401
        # The plain `sync` gives the parsed ApiError, not an exception.
        assert isinstance(get_me.sync(client=client), ApiError)


def test_a_revoked_token_is_401_token_revoked(server, admin):
    session = login(server.base_url, ADMIN, PASSWORD)
    assert check(get_me.sync_detailed(client=session)).email == ADMIN
    logout(session)
    with pytest.raises(ApiRequestError) as failed:
        check(get_me.sync_detailed(client=session))
    assert (failed.value.status, failed.value.code) == (401, "token_revoked")
    logout(session)  # a token that is already revoked is not an error
    # Another session of the same user is untouched.
    assert check(get_me.sync_detailed(client=admin)).email == ADMIN
    with pytest.raises(ApiRequestError) as stream_failed:
        list(log_events(session, "any-profile"))
    assert stream_failed.value.status == 401
    assert stream_failed.value.detail


def test_optional_fields_left_out_are_unset(admin):
    profile = check(
        create_profile.sync_detailed(client=admin, body=ProfileCreate(name="py-unset", model_path="/models/x"))
    )
    try:
        assert profile.model_type is ModelType.LM  # the documented default
        assert profile.system_prompt is UNSET or profile.system_prompt is None
    finally:
        check(delete_profile.sync_detailed(client=admin, id=profile.id))


def test_the_package_installs_with_pip_and_imports(tmp_path):
    # From a copy, so that the build leaves nothing in the source folder.
    source = tmp_path / "src"
    shutil.copytree(
        PACKAGE_DIR, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__", ".*", "tests")
    )
    target = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(source),
        ],
        check=True,
        cwd=tmp_path,
    )
    probe = (
        "import mlx_manager_client, mlx_manager_client.generated.api.profiles.create_profile as m;"
        "print(mlx_manager_client.__file__); print(callable(m.sync_detailed))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        check=False,
        cwd=tmp_path,
        env={"PYTHONPATH": str(target)},
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stderr
    where, ok = out.stdout.split()
    assert Path(where).is_relative_to(target)
    assert ok == "True"
    assert (target / "mlx_manager_client" / "py.typed").exists()
