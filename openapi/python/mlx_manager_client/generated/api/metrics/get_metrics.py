from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_error import ApiError
from ...types import Response


def _get_kwargs() -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/metrics",
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiError | str | None:
    if response.status_code == 200:
        response_200 = response.text
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
) -> Response[ApiError | str]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[ApiError | str]:
    """Read the metrics

     Action: `metrics.read` (operators by default), with a login token or an
    API key. Every series in the OpenMetrics text format: HTTP requests and
    latency by route template, method and status; logins by outcome; users
    by status; active keys; throttle locks; servers by state, memory,
    starts, restarts and crashes by profile; gateway requests, time to
    first byte, tokens, queue depth and requests in flight by profile;
    downloaded bytes; store call latency. Errors: 404 `metrics_off` when
    `[plugins.metrics] enabled = false`.

    Least role by default: `operator`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | str]
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
) -> ApiError | str | None:
    """Read the metrics

     Action: `metrics.read` (operators by default), with a login token or an
    API key. Every series in the OpenMetrics text format: HTTP requests and
    latency by route template, method and status; logins by outcome; users
    by status; active keys; throttle locks; servers by state, memory,
    starts, restarts and crashes by profile; gateway requests, time to
    first byte, tokens, queue depth and requests in flight by profile;
    downloaded bytes; store call latency. Errors: 404 `metrics_off` when
    `[plugins.metrics] enabled = false`.

    Least role by default: `operator`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | str
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[ApiError | str]:
    """Read the metrics

     Action: `metrics.read` (operators by default), with a login token or an
    API key. Every series in the OpenMetrics text format: HTTP requests and
    latency by route template, method and status; logins by outcome; users
    by status; active keys; throttle locks; servers by state, memory,
    starts, restarts and crashes by profile; gateway requests, time to
    first byte, tokens, queue depth and requests in flight by profile;
    downloaded bytes; store call latency. Errors: 404 `metrics_off` when
    `[plugins.metrics] enabled = false`.

    Least role by default: `operator`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | str]
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
) -> ApiError | str | None:
    """Read the metrics

     Action: `metrics.read` (operators by default), with a login token or an
    API key. Every series in the OpenMetrics text format: HTTP requests and
    latency by route template, method and status; logins by outcome; users
    by status; active keys; throttle locks; servers by state, memory,
    starts, restarts and crashes by profile; gateway requests, time to
    first byte, tokens, queue depth and requests in flight by profile;
    downloaded bytes; store call latency. Errors: 404 `metrics_off` when
    `[plugins.metrics] enabled = false`.

    Least role by default: `operator`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | str
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed
