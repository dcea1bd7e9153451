"""The `text/event-stream` operations: a server's log and a download's progress.

Each event's `data` is one JSON object; these helpers read the stream with
httpx and yield the generated models. They wait as long as the stream lasts
(the server sends a keep-alive every 15 s), so there is no read timeout.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from mlx_manager_client._errors import ApiRequestError
from mlx_manager_client.generated import AuthenticatedClient
from mlx_manager_client.generated.models import DownloadTask, LogEvent


def server_sent_events(client: AuthenticatedClient, url: str, params: dict[str, Any] | None = None) -> Iterator[Any]:
    """The JSON `data` of every event of the stream at `url`; `ApiRequestError` for a non-200 answer."""
    timeout = httpx.Timeout(30.0, read=None)
    with client.get_httpx_client().stream(
        "GET", url, params=params, headers={"Accept": "text/event-stream"}, timeout=timeout
    ) as response:
        if response.status_code != 200:
            response.read()
            raise ApiRequestError.from_body(response.status_code, None, response.content)
        data: list[str] = []
        for line in response.iter_lines():
            if line == "":
                if data:
                    yield json.loads("\n".join(data))
                    data = []
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            # `event:`, `id:`, `retry:` and `:` comments (keep-alives) carry nothing we need.
        if data:
            yield json.loads("\n".join(data))


def log_events(client: AuthenticatedClient, profile_id: str, lines: int = 100) -> Iterator[LogEvent]:
    """`GET /api/servers/{profile_id}/logs` (streamServerLogs): the last `lines` lines,
    then new ones, ending with a `stopped` event when the server exits (at once when
    it does not run)."""
    url = f"/api/servers/{quote(profile_id, safe='')}/logs"
    for data in server_sent_events(client, url, {"lines": lines}):
        yield LogEvent.from_dict(data)


def download_events(client: AuthenticatedClient, task_id: str) -> Iterator[DownloadTask]:
    """`GET /api/models/downloads/{task_id}/events` (streamDownloadEvents): the task's
    state at once, then every change, ending after a final status."""
    url = f"/api/models/downloads/{quote(task_id, safe='')}/events"
    for data in server_sent_events(client, url):
        yield DownloadTask.from_dict(data)
