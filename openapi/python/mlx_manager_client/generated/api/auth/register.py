from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_error import ApiError
from ...models.register_request import RegisterRequest
from ...models.user import User
from ...types import Response


def _get_kwargs(
    *,
    body: RegisterRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/auth/register",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json; charset=utf-8"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiError | User | None:
    if response.status_code == 201:
        response_201 = User.from_dict(response.json())

        return response_201

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
) -> Response[ApiError | User]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: RegisterRequest,
) -> Response[ApiError | User]:
    """Register an account

     Public. The first account ever registered becomes an approved admin; later
    ones are `pending` until an admin approves them (under `registration =
    "open"` they are approved at once; under `"closed"` this is 403
    `registration_closed`). Errors: 409 `email_taken` "Email already
    registered"; 422 `invalid_email`, `invalid_password`; 429
    `too_many_attempts` (each registration spends the address's budget of
    failed logins).

    Args:
        body (RegisterRequest): A registration.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | User]
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
    body: RegisterRequest,
) -> ApiError | User | None:
    """Register an account

     Public. The first account ever registered becomes an approved admin; later
    ones are `pending` until an admin approves them (under `registration =
    "open"` they are approved at once; under `"closed"` this is 403
    `registration_closed`). Errors: 409 `email_taken` "Email already
    registered"; 422 `invalid_email`, `invalid_password`; 429
    `too_many_attempts` (each registration spends the address's budget of
    failed logins).

    Args:
        body (RegisterRequest): A registration.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | User
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: RegisterRequest,
) -> Response[ApiError | User]:
    """Register an account

     Public. The first account ever registered becomes an approved admin; later
    ones are `pending` until an admin approves them (under `registration =
    "open"` they are approved at once; under `"closed"` this is 403
    `registration_closed`). Errors: 409 `email_taken` "Email already
    registered"; 422 `invalid_email`, `invalid_password`; 429
    `too_many_attempts` (each registration spends the address's budget of
    failed logins).

    Args:
        body (RegisterRequest): A registration.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | User]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: RegisterRequest,
) -> ApiError | User | None:
    """Register an account

     Public. The first account ever registered becomes an approved admin; later
    ones are `pending` until an admin approves them (under `registration =
    "open"` they are approved at once; under `"closed"` this is 403
    `registration_closed`). Errors: 409 `email_taken` "Email already
    registered"; 422 `invalid_email`, `invalid_password`; 429
    `too_many_attempts` (each registration spends the address's budget of
    failed logins).

    Args:
        body (RegisterRequest): A registration.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | User
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
