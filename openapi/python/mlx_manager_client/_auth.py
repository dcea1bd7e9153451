"""Logging in with the OAuth2 password grant, and clients that carry a bearer token."""

from __future__ import annotations

from typing import Any

from mlx_manager_client._errors import ApiRequestError, check
from mlx_manager_client.generated import AuthenticatedClient, Client
from mlx_manager_client.generated.api.auth import login as login_operation
from mlx_manager_client.generated.api.auth import logout as logout_operation
from mlx_manager_client.generated.models import LoginForm


def token_client(base_url: str, token: str, **client_args: Any) -> AuthenticatedClient:
    """A client that sends `Authorization: Bearer <token>` to `base_url` (the server's origin).

    `client_args` go to the generated `AuthenticatedClient` (`timeout`, `headers`,
    `verify_ssl`, `httpx_args`...).
    """
    return AuthenticatedClient(base_url=base_url, token=token, **client_args)


def login(base_url: str, email: str, password: str, **client_args: Any) -> AuthenticatedClient:
    """Log in and return a client carrying the token.

    Posts the OAuth2 password grant as a form to `/api/auth/login`
    (`grant_type=password`, the email as `username`). Raises `ApiRequestError`
    on failure: 401 `invalid_credentials`, 403 `account_pending` or
    `account_disabled`.
    """
    with Client(base_url=base_url, **client_args) as anonymous:
        response = login_operation.sync_detailed(
            client=anonymous,
            body=LoginForm(username=email, password=password, grant_type="password"),
        )
    token = check(response)
    return token_client(base_url, token.access_token, **client_args)


def logout(client: AuthenticatedClient) -> None:
    """Revoke the client's token on the server (later calls with it get 401 `token_revoked`).

    A token that is already invalid is not an error.
    """
    try:
        check(logout_operation.sync_detailed(client=client))
    except ApiRequestError as err:
        if err.status != 401:
            raise
