from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_error import ApiError
from ...models.download_request import DownloadRequest
from ...models.download_started import DownloadStarted
from ...types import Response


def _get_kwargs(
    *,
    body: DownloadRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/api/models/download",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json; charset=utf-8"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiError | DownloadStarted | None:
    if response.status_code == 202:
        response_202 = DownloadStarted.from_dict(response.json())

        return response_202

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
) -> Response[ApiError | DownloadStarted]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: DownloadRequest,
) -> Response[ApiError | DownloadStarted]:
    """Start a download

     Action: `models.download`. Starts downloading the `main` revision of the
    model now and answers 202 with the task; while a download of the same
    model runs, the same task is returned. Files land in the Hugging Face
    cache layout; LFS files are checked against their SHA-256; the snapshot
    and `refs/main` appear only when every file is verified. Partial files
    are continued with range requests after an interruption or a restart.
    A malformed id is 422 `invalid_model_id`; offline, 503 `hub_offline`.
    Hub errors (unknown or gated model) fail the task, not this request.

    Least role by default: `user`.

    Args:
        body (DownloadRequest): A download request.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | DownloadStarted]
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
    body: DownloadRequest,
) -> ApiError | DownloadStarted | None:
    """Start a download

     Action: `models.download`. Starts downloading the `main` revision of the
    model now and answers 202 with the task; while a download of the same
    model runs, the same task is returned. Files land in the Hugging Face
    cache layout; LFS files are checked against their SHA-256; the snapshot
    and `refs/main` appear only when every file is verified. Partial files
    are continued with range requests after an interruption or a restart.
    A malformed id is 422 `invalid_model_id`; offline, 503 `hub_offline`.
    Hub errors (unknown or gated model) fail the task, not this request.

    Least role by default: `user`.

    Args:
        body (DownloadRequest): A download request.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | DownloadStarted
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: DownloadRequest,
) -> Response[ApiError | DownloadStarted]:
    """Start a download

     Action: `models.download`. Starts downloading the `main` revision of the
    model now and answers 202 with the task; while a download of the same
    model runs, the same task is returned. Files land in the Hugging Face
    cache layout; LFS files are checked against their SHA-256; the snapshot
    and `refs/main` appear only when every file is verified. Partial files
    are continued with range requests after an interruption or a restart.
    A malformed id is 422 `invalid_model_id`; offline, 503 `hub_offline`.
    Hub errors (unknown or gated model) fail the task, not this request.

    Least role by default: `user`.

    Args:
        body (DownloadRequest): A download request.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | DownloadStarted]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: DownloadRequest,
) -> ApiError | DownloadStarted | None:
    """Start a download

     Action: `models.download`. Starts downloading the `main` revision of the
    model now and answers 202 with the task; while a download of the same
    model runs, the same task is returned. Files land in the Hugging Face
    cache layout; LFS files are checked against their SHA-256; the snapshot
    and `refs/main` appear only when every file is verified. Partial files
    are continued with range requests after an interruption or a restart.
    A malformed id is 422 `invalid_model_id`; offline, 503 `hub_offline`.
    Hub errors (unknown or gated model) fail the task, not this request.

    Least role by default: `user`.

    Args:
        body (DownloadRequest): A download request.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | DownloadStarted
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed
