from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_error import ApiError
from ...models.login_form import LoginForm
from ...models.token import Token
from ...types import Response


def _get_kwargs(
    *,
    body: LoginForm,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/auth/login",
    }

    _kwargs["data"] = body.to_dict()
    headers["Content-Type"] = "application/x-www-form-urlencoded"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiError | Token | None:
    if response.status_code == 200:
        response_200 = Token.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ApiError.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ApiError.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ApiError.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = ApiError.from_dict(response.json())

        return response_404

    if response.status_code == 409:
        response_409 = ApiError.from_dict(response.json())

        return response_409

    if response.status_code == 413:
        response_413 = ApiError.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = ApiError.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = ApiError.from_dict(response.json())

        return response_422

    if response.status_code == 429:
        response_429 = ApiError.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = ApiError.from_dict(response.json())

        return response_500

    if response.status_code == 501:
        response_501 = ApiError.from_dict(response.json())

        return response_501

    if response.status_code == 502:
        response_502 = ApiError.from_dict(response.json())

        return response_502

    if response.status_code == 503:
        response_503 = ApiError.from_dict(response.json())

        return response_503

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ApiError | Token]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: LoginForm,
) -> Response[ApiError | Token]:
    """Log in (OAuth2 password flow)

     Public. Every token is a session (see `listSessions`). Form fields
    `username` (the email) and `password`; `grant_type`
    must be `password` when sent; `scope`, `client_id`, `client_secret` and an
    `Authorization: Basic` header (what Swagger UI sends) are ignored. Errors:
    401 `invalid_credentials` "Incorrect email or password" (the same answer
    for unknown emails and wrong passwords); 403 `account_pending` "Account
    pending approval", `account_disabled` "Account disabled"; 400
    `unsupported_grant_type`; 429 `too_many_attempts` with `Retry-After` once
    failed logins reach a limit of `[plugins.auth.throttle]` (checked before
    the password, so a right one does not pass either).

    Args:
        body (LoginForm): The OAuth2 password grant (RFC 6749 §4.3), as Swagger UI's "Authorize"
            sends it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | Token]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: LoginForm,
) -> ApiError | Token | None:
    """Log in (OAuth2 password flow)

     Public. Every token is a session (see `listSessions`). Form fields
    `username` (the email) and `password`; `grant_type`
    must be `password` when sent; `scope`, `client_id`, `client_secret` and an
    `Authorization: Basic` header (what Swagger UI sends) are ignored. Errors:
    401 `invalid_credentials` "Incorrect email or password" (the same answer
    for unknown emails and wrong passwords); 403 `account_pending` "Account
    pending approval", `account_disabled` "Account disabled"; 400
    `unsupported_grant_type`; 429 `too_many_attempts` with `Retry-After` once
    failed logins reach a limit of `[plugins.auth.throttle]` (checked before
    the password, so a right one does not pass either).

    Args:
        body (LoginForm): The OAuth2 password grant (RFC 6749 §4.3), as Swagger UI's "Authorize"
            sends it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | Token
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: LoginForm,
) -> Response[ApiError | Token]:
    """Log in (OAuth2 password flow)

     Public. Every token is a session (see `listSessions`). Form fields
    `username` (the email) and `password`; `grant_type`
    must be `password` when sent; `scope`, `client_id`, `client_secret` and an
    `Authorization: Basic` header (what Swagger UI sends) are ignored. Errors:
    401 `invalid_credentials` "Incorrect email or password" (the same answer
    for unknown emails and wrong passwords); 403 `account_pending` "Account
    pending approval", `account_disabled` "Account disabled"; 400
    `unsupported_grant_type`; 429 `too_many_attempts` with `Retry-After` once
    failed logins reach a limit of `[plugins.auth.throttle]` (checked before
    the password, so a right one does not pass either).

    Args:
        body (LoginForm): The OAuth2 password grant (RFC 6749 §4.3), as Swagger UI's "Authorize"
            sends it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | Token]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: LoginForm,
) -> ApiError | Token | None:
    """Log in (OAuth2 password flow)

     Public. Every token is a session (see `listSessions`). Form fields
    `username` (the email) and `password`; `grant_type`
    must be `password` when sent; `scope`, `client_id`, `client_secret` and an
    `Authorization: Basic` header (what Swagger UI sends) are ignored. Errors:
    401 `invalid_credentials` "Incorrect email or password" (the same answer
    for unknown emails and wrong passwords); 403 `account_pending` "Account
    pending approval", `account_disabled` "Account disabled"; 400
    `unsupported_grant_type`; 429 `too_many_attempts` with `Retry-After` once
    failed logins reach a limit of `[plugins.auth.throttle]` (checked before
    the password, so a right one does not pass either).

    Args:
        body (LoginForm): The OAuth2 password grant (RFC 6749 §4.3), as Swagger UI's "Authorize"
            sends it.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | Token
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
