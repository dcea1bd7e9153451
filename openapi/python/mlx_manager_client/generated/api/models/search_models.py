from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_error import ApiError
from ...models.model_search_result import ModelSearchResult
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    query: str | Unset = UNSET,
    max_size_gb: float | Unset = UNSET,
    limit: int | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    params["query"] = query

    params["max_size_gb"] = max_size_gb

    params["limit"] = limit

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/models/search",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiError | list[ModelSearchResult] | None:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.json()
        for response_200_item_data in _response_200:
            response_200_item = ModelSearchResult.from_dict(response_200_item_data)

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
) -> Response[ApiError | list[ModelSearchResult]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    query: str | Unset = UNSET,
    max_size_gb: float | Unset = UNSET,
    limit: int | Unset = UNSET,
) -> Response[ApiError | list[ModelSearchResult]]:
    """Search the Hugging Face Hub

     Action: `models.read`. MLX models (`filter=mlx`) matching `query`, most
    downloaded first, limited to `[hub] organization` when set. Sizes are the
    Hub's `usedStorage`, else estimated from the name (parameters times bytes
    per parameter of the quantisation, plus 10 %). `query` is required: a
    missing or blank one is 422 `empty_query`; `limit` (1 to 100, default 20)
    or `max_size_gb` out of range is 422 `invalid_parameter`. A failing Hub is
    502 `hub_error` (never an empty list); with `[hub] offline = true` the Hub
    is never called and the answer is 503 `hub_offline`.

    Least role by default: `viewer`.

    Args:
        query (str | Unset):
        max_size_gb (float | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | list[ModelSearchResult]]
    """

    kwargs = _get_kwargs(
        query=query,
        max_size_gb=max_size_gb,
        limit=limit,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    query: str | Unset = UNSET,
    max_size_gb: float | Unset = UNSET,
    limit: int | Unset = UNSET,
) -> ApiError | list[ModelSearchResult] | None:
    """Search the Hugging Face Hub

     Action: `models.read`. MLX models (`filter=mlx`) matching `query`, most
    downloaded first, limited to `[hub] organization` when set. Sizes are the
    Hub's `usedStorage`, else estimated from the name (parameters times bytes
    per parameter of the quantisation, plus 10 %). `query` is required: a
    missing or blank one is 422 `empty_query`; `limit` (1 to 100, default 20)
    or `max_size_gb` out of range is 422 `invalid_parameter`. A failing Hub is
    502 `hub_error` (never an empty list); with `[hub] offline = true` the Hub
    is never called and the answer is 503 `hub_offline`.

    Least role by default: `viewer`.

    Args:
        query (str | Unset):
        max_size_gb (float | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | list[ModelSearchResult]
    """

    return sync_detailed(
        client=client,
        query=query,
        max_size_gb=max_size_gb,
        limit=limit,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    query: str | Unset = UNSET,
    max_size_gb: float | Unset = UNSET,
    limit: int | Unset = UNSET,
) -> Response[ApiError | list[ModelSearchResult]]:
    """Search the Hugging Face Hub

     Action: `models.read`. MLX models (`filter=mlx`) matching `query`, most
    downloaded first, limited to `[hub] organization` when set. Sizes are the
    Hub's `usedStorage`, else estimated from the name (parameters times bytes
    per parameter of the quantisation, plus 10 %). `query` is required: a
    missing or blank one is 422 `empty_query`; `limit` (1 to 100, default 20)
    or `max_size_gb` out of range is 422 `invalid_parameter`. A failing Hub is
    502 `hub_error` (never an empty list); with `[hub] offline = true` the Hub
    is never called and the answer is 503 `hub_offline`.

    Least role by default: `viewer`.

    Args:
        query (str | Unset):
        max_size_gb (float | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | list[ModelSearchResult]]
    """

    kwargs = _get_kwargs(
        query=query,
        max_size_gb=max_size_gb,
        limit=limit,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    query: str | Unset = UNSET,
    max_size_gb: float | Unset = UNSET,
    limit: int | Unset = UNSET,
) -> ApiError | list[ModelSearchResult] | None:
    """Search the Hugging Face Hub

     Action: `models.read`. MLX models (`filter=mlx`) matching `query`, most
    downloaded first, limited to `[hub] organization` when set. Sizes are the
    Hub's `usedStorage`, else estimated from the name (parameters times bytes
    per parameter of the quantisation, plus 10 %). `query` is required: a
    missing or blank one is 422 `empty_query`; `limit` (1 to 100, default 20)
    or `max_size_gb` out of range is 422 `invalid_parameter`. A failing Hub is
    502 `hub_error` (never an empty list); with `[hub] offline = true` the Hub
    is never called and the answer is 503 `hub_offline`.

    Least role by default: `viewer`.

    Args:
        query (str | Unset):
        max_size_gb (float | Unset):
        limit (int | Unset):

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | list[ModelSearchResult]
    """

    return (
        await asyncio_detailed(
            client=client,
            query=query,
            max_size_gb=max_size_gb,
            limit=limit,
        )
    ).parsed
