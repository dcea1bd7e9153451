"""schemathesis hooks for run.sh (loaded through SCHEMATHESIS_HOOKS).

run.sh sets, for both of its invocations:
  MLX_FUZZ_RUN          "main" or "self" (which invocation this is)
  MLX_FUZZ_BASE_URL     the live server, http://127.0.0.1:PORT
  MLX_FUZZ_ADMIN_ID     the id of the admin whose token the main run uses
  MLX_FUZZ_ADMIN_TOKEN  that admin's token

Both runs: a case of updateUser, deleteUser or resetUserPassword whose `id` is
the admin's is dropped, so that no generated request can reset, disable, demote
or delete the account both runs depend on. In the main run main.toml pins those
ids to other accounts already; in the "self" run a negative case keeps its
generated id, and schemathesis reuses ids seen in responses (`approved_by`
names the admin).

The "self" run (logout, logoutAll, revokeSession, changeMyPassword, and updateUser, deleteUser and
resetUserPassword aimed at the caller): every test case gets a throw-away admin
of its own, registered, approved and promoted by the main admin, then logged
in. Whatever the case does to its caller (logs it out, changes or resets its
password, disables, demotes or deletes it), the next case starts with valid
credentials. A positive case of the three user operations is aimed at its own
caller (its `id` is set to the throw-away's id); a negative one keeps the `id`
it was generated with, so what makes it negative stays in it.
"""

from __future__ import annotations

import itertools
import os
import threading

import requests
import schemathesis
from schemathesis import GenerationMode

RUN = os.environ["MLX_FUZZ_RUN"]
BASE_URL = os.environ["MLX_FUZZ_BASE_URL"]
ADMIN_ID = os.environ["MLX_FUZZ_ADMIN_ID"]
ADMIN_TOKEN = os.environ["MLX_FUZZ_ADMIN_TOKEN"]

USER_ID_OPERATIONS = ["updateUser", "deleteUser", "resetUserPassword"]
THROWAWAY_PASSWORD = "throw-away-password"
TIMEOUT_S = 10


@schemathesis.hook("filter_case").apply_to(operation_id=USER_ID_OPERATIONS)
def spare_the_admin(context, case) -> bool:
    return (case.path_parameters or {}).get("id") != ADMIN_ID


if RUN == "self":
    _numbers = itertools.count(1)
    _lock = threading.Lock()

    def _throwaway_admin() -> tuple[str, str]:
        """A new approved admin: (id, access token)."""
        with _lock:
            number = next(_numbers)
        email = f"throw-away-{number}@example.com"
        with requests.Session() as http:
            answer = http.post(
                f"{BASE_URL}/api/auth/register",
                json={"email": email, "password": THROWAWAY_PASSWORD},
                timeout=TIMEOUT_S,
            )
            answer.raise_for_status()
            user_id = answer.json()["id"]
            http.put(
                f"{BASE_URL}/api/auth/users/{user_id}",
                json={"status": "approved", "role": "admin"},
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                timeout=TIMEOUT_S,
            ).raise_for_status()
            answer = http.post(
                f"{BASE_URL}/api/auth/login",
                data={"username": email, "password": THROWAWAY_PASSWORD},
                timeout=TIMEOUT_S,
            )
            answer.raise_for_status()
            return user_id, answer.json()["access_token"]

    # refresh_interval=None: no caching, `get` runs for every case.
    @schemathesis.auth(refresh_interval=None)
    class ThrowAwayAdmin:
        def get(self, case, context):
            return _throwaway_admin()

        def set(self, case, data, context):
            user_id, token = data
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
            positive = case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE
            if case.operation.definition.raw.get("operationId") in USER_ID_OPERATIONS and positive:
                case.path_parameters = {**(case.path_parameters or {}), "id": user_id}
