"""`check()` and `ApiRequestError`: a failed call as an exception with the server's `{detail, code}`."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from mlx_manager_client.generated.models import ApiError
from mlx_manager_client.generated.types import Response

T = TypeVar("T")


class ApiRequestError(Exception):
    """A call answered with a status other than 2xx.

    `status` is the HTTP status, `code` and `detail` the server's `ApiError`
    (`None` when the body was not one). Match on `code`.
    """

    def __init__(self, status: int, code: str | None, detail: str | None) -> None:
        super().__init__(f"{status} {code or 'error'}: {detail or 'request failed'}")
        self.status = status
        self.code = code
        self.detail = detail

    @classmethod
    def from_body(cls, status: int, parsed: Any, content: bytes) -> ApiRequestError:
        """The error for a response with this status, parsed body and raw body."""
        if isinstance(parsed, ApiError):
            return cls(status, parsed.code, parsed.detail)
        try:
            body = json.loads(content)
        except ValueError:
            body = None
        if isinstance(body, dict):
            code, detail = body.get("code"), body.get("detail")
            return cls(status, code if isinstance(code, str) else None, detail if isinstance(detail, str) else None)
        return cls(status, None, content.decode(errors="replace") or None)


def check(response: Response[T | ApiError]) -> T:
    """The parsed body of a 2xx response (`None` for 204); raises `ApiRequestError` otherwise."""
    status = int(response.status_code)
    if 200 <= status < 300:
        return response.parsed  # type: ignore[return-value]  # a 2xx body is never an ApiError
    raise ApiRequestError.from_body(status, response.parsed, response.content)
