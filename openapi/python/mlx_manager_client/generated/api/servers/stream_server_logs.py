from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_error import ApiError
from ...models.log_event import LogEvent
from ...types import UNSET, Response, Unset


def _get_kwargs(
    profile_id: str,
    *,
    lines: int | Unset = 100,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["lines"] = lines

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/servers/{profile_id}/logs".format(
            profile_id=quote(str(profile_id), safe=""),
        ),
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiError | list[LogEvent] | None:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.text
        for response_200_item_data in _response_200:
            response_200_item = LogEvent.from_dict(response_200_item_data)

            response_200.append(response_200_item)

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
) -> Response[ApiError | list[LogEvent]]:
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
    lines: int | Unset = 100,
) -> Response[ApiError | list[LogEvent]]:
    """Stream a server's log

     Action: `servers.read`. `text/event-stream`: the last `lines` lines (0 to
    10000, default 100), then new lines as they are written; every viewer gets
    every line. Each event's data is a JSON `LogEvent`; the stream ends with a
    `stopped` event when the server exits (at once when it does not run).
    Accepts a bearer token or a single-use `?ticket=` from
    `POST /api/auth/stream-ticket`. Errors: 404 `profile_not_found`; 422 bad
    `lines`.

    Least role by default: `viewer`.

    Args:
        profile_id (str):
        lines (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | list[LogEvent]]
    """

    kwargs = _get_kwargs(
        profile_id=profile_id,
        lines=lines,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    profile_id: str,
    *,
    client: AuthenticatedClient,
    lines: int | Unset = 100,
) -> ApiError | list[LogEvent] | None:
    """Stream a server's log

     Action: `servers.read`. `text/event-stream`: the last `lines` lines (0 to
    10000, default 100), then new lines as they are written; every viewer gets
    every line. Each event's data is a JSON `LogEvent`; the stream ends with a
    `stopped` event when the server exits (at once when it does not run).
    Accepts a bearer token or a single-use `?ticket=` from
    `POST /api/auth/stream-ticket`. Errors: 404 `profile_not_found`; 422 bad
    `lines`.

    Least role by default: `viewer`.

    Args:
        profile_id (str):
        lines (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | list[LogEvent]
    """

    return sync_detailed(
        profile_id=profile_id,
        client=client,
        lines=lines,
    ).parsed


async def asyncio_detailed(
    profile_id: str,
    *,
    client: AuthenticatedClient,
    lines: int | Unset = 100,
) -> Response[ApiError | list[LogEvent]]:
    """Stream a server's log

     Action: `servers.read`. `text/event-stream`: the last `lines` lines (0 to
    10000, default 100), then new lines as they are written; every viewer gets
    every line. Each event's data is a JSON `LogEvent`; the stream ends with a
    `stopped` event when the server exits (at once when it does not run).
    Accepts a bearer token or a single-use `?ticket=` from
    `POST /api/auth/stream-ticket`. Errors: 404 `profile_not_found`; 422 bad
    `lines`.

    Least role by default: `viewer`.

    Args:
        profile_id (str):
        lines (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | list[LogEvent]]
    """

    kwargs = _get_kwargs(
        profile_id=profile_id,
        lines=lines,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    profile_id: str,
    *,
    client: AuthenticatedClient,
    lines: int | Unset = 100,
) -> ApiError | list[LogEvent] | None:
    """Stream a server's log

     Action: `servers.read`. `text/event-stream`: the last `lines` lines (0 to
    10000, default 100), then new lines as they are written; every viewer gets
    every line. Each event's data is a JSON `LogEvent`; the stream ends with a
    `stopped` event when the server exits (at once when it does not run).
    Accepts a bearer token or a single-use `?ticket=` from
    `POST /api/auth/stream-ticket`. Errors: 404 `profile_not_found`; 422 bad
    `lines`.

    Least role by default: `viewer`.

    Args:
        profile_id (str):
        lines (int | Unset):  Default: 100.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | list[LogEvent]
    """

    return (
        await asyncio_detailed(
            profile_id=profile_id,
            client=client,
            lines=lines,
        )
    ).parsed
