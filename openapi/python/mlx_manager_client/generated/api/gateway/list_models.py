from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.gateway_error import GatewayError
from ...models.gateway_model_list import GatewayModelList
from ...types import Response


def _get_kwargs() -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/v1/models",
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> GatewayError | GatewayModelList | None:
    if response.status_code == 200:
        response_200 = GatewayModelList.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = GatewayError.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = GatewayError.from_dict(response.json())

        return response_403

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[GatewayError | GatewayModelList]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[GatewayError | GatewayModelList]:
    """List models

     Action: `inference.use`. OpenAI's model list: the profiles the caller
    may use (an API key's `models` narrow it), running or not; each `id`
    is a profile's name. Errors are OpenAI-shaped: 401 `invalid_api_key`
    (with `WWW-Authenticate: Bearer`), 403 `forbidden`.

    Least role by default: `user`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[GatewayError | GatewayModelList]
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
) -> GatewayError | GatewayModelList | None:
    """List models

     Action: `inference.use`. OpenAI's model list: the profiles the caller
    may use (an API key's `models` narrow it), running or not; each `id`
    is a profile's name. Errors are OpenAI-shaped: 401 `invalid_api_key`
    (with `WWW-Authenticate: Bearer`), 403 `forbidden`.

    Least role by default: `user`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        GatewayError | GatewayModelList
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[GatewayError | GatewayModelList]:
    """List models

     Action: `inference.use`. OpenAI's model list: the profiles the caller
    may use (an API key's `models` narrow it), running or not; each `id`
    is a profile's name. Errors are OpenAI-shaped: 401 `invalid_api_key`
    (with `WWW-Authenticate: Bearer`), 403 `forbidden`.

    Least role by default: `user`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[GatewayError | GatewayModelList]
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
) -> GatewayError | GatewayModelList | None:
    """List models

     Action: `inference.use`. OpenAI's model list: the profiles the caller
    may use (an API key's `models` narrow it), running or not; each `id`
    is a profile's name. Errors are OpenAI-shaped: 401 `invalid_api_key`
    (with `WWW-Authenticate: Bearer`), 403 `forbidden`.

    Least role by default: `user`.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        GatewayError | GatewayModelList
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed
