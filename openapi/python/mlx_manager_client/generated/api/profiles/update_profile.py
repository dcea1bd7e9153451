from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.api_error import ApiError
from ...models.profile import Profile
from ...models.profile_update import ProfileUpdate
from ...types import Response


def _get_kwargs(
    id: str,
    *,
    body: ProfileUpdate,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "put",
        "url": "/api/profiles/{id}".format(
            id=quote(str(id), safe=""),
        ),
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json; charset=utf-8"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ApiError | Profile | None:
    if response.status_code == 200:
        response_200 = Profile.from_dict(response.json())

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
) -> Response[ApiError | Profile]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
    body: ProfileUpdate,
) -> Response[ApiError | Profile]:
    """Update a profile

     Action: `profiles.write`. Partial: absent fields stay as they are, `null`
    clears an optional field. A running server keeps its old settings until it
    is restarted. Errors: 404; 409 as for create, and `service_installed` when
    renaming a profile whose login service is installed; 422.

    Least role by default: `user`.

    Args:
        id (str):
        body (ProfileUpdate): A partial update: absent fields stay as they are; `null` clears an
            optional field.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | Profile]
    """

    kwargs = _get_kwargs(
        id=id,
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    id: str,
    *,
    client: AuthenticatedClient,
    body: ProfileUpdate,
) -> ApiError | Profile | None:
    """Update a profile

     Action: `profiles.write`. Partial: absent fields stay as they are, `null`
    clears an optional field. A running server keeps its old settings until it
    is restarted. Errors: 404; 409 as for create, and `service_installed` when
    renaming a profile whose login service is installed; 422.

    Least role by default: `user`.

    Args:
        id (str):
        body (ProfileUpdate): A partial update: absent fields stay as they are; `null` clears an
            optional field.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | Profile
    """

    return sync_detailed(
        id=id,
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient,
    body: ProfileUpdate,
) -> Response[ApiError | Profile]:
    """Update a profile

     Action: `profiles.write`. Partial: absent fields stay as they are, `null`
    clears an optional field. A running server keeps its old settings until it
    is restarted. Errors: 404; 409 as for create, and `service_installed` when
    renaming a profile whose login service is installed; 422.

    Least role by default: `user`.

    Args:
        id (str):
        body (ProfileUpdate): A partial update: absent fields stay as they are; `null` clears an
            optional field.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ApiError | Profile]
    """

    kwargs = _get_kwargs(
        id=id,
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient,
    body: ProfileUpdate,
) -> ApiError | Profile | None:
    """Update a profile

     Action: `profiles.write`. Partial: absent fields stay as they are, `null`
    clears an optional field. A running server keeps its old settings until it
    is restarted. Errors: 404; 409 as for create, and `service_installed` when
    renaming a profile whose login service is installed; 422.

    Least role by default: `user`.

    Args:
        id (str):
        body (ProfileUpdate): A partial update: absent fields stay as they are; `null` clears an
            optional field.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ApiError | Profile
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
            body=body,
        )
    ).parsed
