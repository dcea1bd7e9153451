from http import HTTPStatus
from typing import Any

import httpx

from ...client import AuthenticatedClient, Client
from ...models.gateway_error import GatewayError
from ...models.gateway_upload import GatewayUpload
from ...types import Response


def _get_kwargs(
    *,
    body: GatewayUpload,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/v1/images/edits",
    }

    _kwargs["files"] = body.to_multipart()

    headers["Content-Type"] = "multipart/form-data; boundary=+++"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Any | GatewayError:
    if response.status_code == 200:
        response_200 = response.json()
        return response_200

    if response.status_code == 400:
        response_400 = GatewayError.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = GatewayError.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = GatewayError.from_dict(response.json())

        return response_403

    if response.status_code == 404:
        response_404 = GatewayError.from_dict(response.json())

        return response_404

    if response.status_code == 413:
        response_413 = GatewayError.from_dict(response.json())

        return response_413

    if response.status_code == 429:
        response_429 = GatewayError.from_dict(response.json())

        return response_429

    if response.status_code == 503:
        response_503 = GatewayError.from_dict(response.json())

        return response_503

    if response.status_code == 504:
        response_504 = GatewayError.from_dict(response.json())

        return response_504

    response_default = response.json()
    return response_default


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[Any | GatewayError]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: GatewayUpload,
) -> Response[Any | GatewayError]:
    """Edit an image

     Action: `inference.use`. A `multipart/form-data` upload (`image`,
    `prompt`, `model`, ...) forwarded unchanged to an `image-edit`
    profile's server. Errors as `POST /v1/audio/transcriptions`.

    Least role by default: `user`.

    Args:
        body (GatewayUpload): An OpenAI upload: `model` and the route's file (`file` for audio,
            `image` for edits) with its other fields, forwarded unchanged.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | GatewayError]
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
    client: AuthenticatedClient,
    body: GatewayUpload,
) -> Any | GatewayError | None:
    """Edit an image

     Action: `inference.use`. A `multipart/form-data` upload (`image`,
    `prompt`, `model`, ...) forwarded unchanged to an `image-edit`
    profile's server. Errors as `POST /v1/audio/transcriptions`.

    Least role by default: `user`.

    Args:
        body (GatewayUpload): An OpenAI upload: `model` and the route's file (`file` for audio,
            `image` for edits) with its other fields, forwarded unchanged.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | GatewayError
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: GatewayUpload,
) -> Response[Any | GatewayError]:
    """Edit an image

     Action: `inference.use`. A `multipart/form-data` upload (`image`,
    `prompt`, `model`, ...) forwarded unchanged to an `image-edit`
    profile's server. Errors as `POST /v1/audio/transcriptions`.

    Least role by default: `user`.

    Args:
        body (GatewayUpload): An OpenAI upload: `model` and the route's file (`file` for audio,
            `image` for edits) with its other fields, forwarded unchanged.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[Any | GatewayError]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: GatewayUpload,
) -> Any | GatewayError | None:
    """Edit an image

     Action: `inference.use`. A `multipart/form-data` upload (`image`,
    `prompt`, `model`, ...) forwarded unchanged to an `image-edit`
    profile's server. Errors as `POST /v1/audio/transcriptions`.

    Least role by default: `user`.

    Args:
        body (GatewayUpload): An OpenAI upload: `model` and the route's file (`file` for audio,
            `image` for edits) with its other fields, forwarded unchanged.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Any | GatewayError
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
