from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_error import ApiError
from ...models.server_started import ServerStarted
from ...types import Response


def _get_kwargs(
    profile_id: str,
) -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/servers/{profile_id}/start".format(
            profile_id=quote(str(profile_id), safe=""),
        ),
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiError | ServerStarted | None:
    if response.status_code == 200:
        response_200 = ServerStarted.from_dict(response.json())

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
) -> Response[ApiError | ServerStarted]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    profile_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[ApiError | ServerStarted]:
    """Start a server

     Action: `servers.control`. Spawns the profile's command (no shell) in its own
    process group, output to `<data_dir>/logs/server-<id>.log`, and answers once
    it is healthy (`GET /v1/models`), which may take as long as loading the
    model (`[servers] start_timeout`). Errors: 404 `profile_not_found`; 409
    `already_running`; 409 `start_failed` when it exits within `[servers]
    start_grace` or is not healthy in time, with the last 2000 characters of its
    log in `detail`.

    Least role by default: `user`.

    Args:
        profile_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | ServerStarted]
    """

    kwargs = _get_kwargs(
        profile_id=profile_id,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    profile_id: str,
    *,
    client: AuthenticatedClient,
) -> ApiError | ServerStarted | None:
    """Start a server

     Action: `servers.control`. Spawns the profile's command (no shell) in its own
    process group, output to `<data_dir>/logs/server-<id>.log`, and answers once
    it is healthy (`GET /v1/models`), which may take as long as loading the
    model (`[servers] start_timeout`). Errors: 404 `profile_not_found`; 409
    `already_running`; 409 `start_failed` when it exits within `[servers]
    start_grace` or is not healthy in time, with the last 2000 characters of its
    log in `detail`.

    Least role by default: `user`.

    Args:
        profile_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | ServerStarted
    """

    return sync_detailed(
        profile_id=profile_id,
        client=client,
    ).parsed


async def asyncio_detailed(
    profile_id: str,
    *,
    client: AuthenticatedClient,
) -> Response[ApiError | ServerStarted]:
    """Start a server

     Action: `servers.control`. Spawns the profile's command (no shell) in its own
    process group, output to `<data_dir>/logs/server-<id>.log`, and answers once
    it is healthy (`GET /v1/models`), which may take as long as loading the
    model (`[servers] start_timeout`). Errors: 404 `profile_not_found`; 409
    `already_running`; 409 `start_failed` when it exits within `[servers]
    start_grace` or is not healthy in time, with the last 2000 characters of its
    log in `detail`.

    Least role by default: `user`.

    Args:
        profile_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | ServerStarted]
    """

    kwargs = _get_kwargs(
        profile_id=profile_id,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    profile_id: str,
    *,
    client: AuthenticatedClient,
) -> ApiError | ServerStarted | None:
    """Start a server

     Action: `servers.control`. Spawns the profile's command (no shell) in its own
    process group, output to `<data_dir>/logs/server-<id>.log`, and answers once
    it is healthy (`GET /v1/models`), which may take as long as loading the
    model (`[servers] start_timeout`). Errors: 404 `profile_not_found`; 409
    `already_running`; 409 `start_failed` when it exits within `[servers]
    start_grace` or is not healthy in time, with the last 2000 characters of its
    log in `detail`.

    Least role by default: `user`.

    Args:
        profile_id (str):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | ServerStarted
    """

    return (
        await asyncio_detailed(
            profile_id=profile_id,
            client=client,
        )
    ).parsed
