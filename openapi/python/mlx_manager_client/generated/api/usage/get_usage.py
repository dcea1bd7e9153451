import datetime
from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_error import ApiError
from ...models.usage import Usage
from ...models.usage_group_by import UsageGroupBy
from ...types import UNSET, Response, Unset


def _get_kwargs(
    *,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    group_by: UsageGroupBy | Unset = UNSET,
) -> dict[str, Any]:

    params: dict[str, Any] = {}

    json_since: str | Unset = UNSET
    if not isinstance(since, Unset):
        json_since = since.isoformat()
    params["since"] = json_since

    json_until: str | Unset = UNSET
    if not isinstance(until, Unset):
        json_until = until.isoformat()
    params["until"] = json_until

    json_group_by: str | Unset = UNSET
    if not isinstance(group_by, Unset):
        json_group_by = group_by.value

    params["group_by"] = json_group_by

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/api/usage",
        "params": params,
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiError | list[Usage] | None:
    if response.status_code == 200:
        response_200 = []
        _response_200 = response.json()
        for response_200_item_data in _response_200:
            response_200_item = Usage.from_dict(response_200_item_data)

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
) -> Response[ApiError | list[Usage]]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    group_by: UsageGroupBy | Unset = UNSET,
) -> Response[ApiError | list[Usage]]:
    """Sum gateway usage

     Action: `usage.read`; a caller sees their own requests, an admin
    everyone's. Requests through `/v1` that named a profile, summed by
    `group_by` (default `user`), most requests first. Records are written
    about once a second, so the last second may be missing. No prompt or
    completion text is stored. Errors: 422 `invalid_parameter` when `since`
    is not before `until`.

    Least role by default: `user`.

    Args:
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        group_by (UsageGroupBy | Unset): What usage is summed by.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | list[Usage]]
    """

    kwargs = _get_kwargs(
        since=since,
        until=until,
        group_by=group_by,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    group_by: UsageGroupBy | Unset = UNSET,
) -> ApiError | list[Usage] | None:
    """Sum gateway usage

     Action: `usage.read`; a caller sees their own requests, an admin
    everyone's. Requests through `/v1` that named a profile, summed by
    `group_by` (default `user`), most requests first. Records are written
    about once a second, so the last second may be missing. No prompt or
    completion text is stored. Errors: 422 `invalid_parameter` when `since`
    is not before `until`.

    Least role by default: `user`.

    Args:
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        group_by (UsageGroupBy | Unset): What usage is summed by.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | list[Usage]
    """

    return sync_detailed(
        client=client,
        since=since,
        until=until,
        group_by=group_by,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    group_by: UsageGroupBy | Unset = UNSET,
) -> Response[ApiError | list[Usage]]:
    """Sum gateway usage

     Action: `usage.read`; a caller sees their own requests, an admin
    everyone's. Requests through `/v1` that named a profile, summed by
    `group_by` (default `user`), most requests first. Records are written
    about once a second, so the last second may be missing. No prompt or
    completion text is stored. Errors: 422 `invalid_parameter` when `since`
    is not before `until`.

    Least role by default: `user`.

    Args:
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        group_by (UsageGroupBy | Unset): What usage is summed by.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | list[Usage]]
    """

    kwargs = _get_kwargs(
        since=since,
        until=until,
        group_by=group_by,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    since: datetime.datetime | Unset = UNSET,
    until: datetime.datetime | Unset = UNSET,
    group_by: UsageGroupBy | Unset = UNSET,
) -> ApiError | list[Usage] | None:
    """Sum gateway usage

     Action: `usage.read`; a caller sees their own requests, an admin
    everyone's. Requests through `/v1` that named a profile, summed by
    `group_by` (default `user`), most requests first. Records are written
    about once a second, so the last second may be missing. No prompt or
    completion text is stored. Errors: 422 `invalid_parameter` when `since`
    is not before `until`.

    Least role by default: `user`.

    Args:
        since (datetime.datetime | Unset):
        until (datetime.datetime | Unset):
        group_by (UsageGroupBy | Unset): What usage is summed by.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | list[Usage]
    """

    return (
        await asyncio_detailed(
            client=client,
            since=since,
            until=until,
            group_by=group_by,
        )
    ).parsed
