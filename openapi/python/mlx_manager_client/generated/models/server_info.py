from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.server_health import ServerHealth
from ..models.server_state import ServerState

T = TypeVar("T", bound="ServerInfo")


@_attrs_define
class ServerInfo:
    """A running server.

    Attributes:
        profile_id (str): Its profile.
        profile_name (str): The profile's name when it was started.
        pid (int): Process id (also its process group).
        port (int): Port.
        state (ServerState): Where a running server is in its life.
        health (ServerHealth): The last known health of a running server (checked every 15 s).
        uptime_seconds (int): Seconds since it was started.
        memory_mb (float): Resident memory of its process tree, in MiB.
        cpu_percent (float): CPU of its process tree, in percent of one core.
        gateway_requests (int): Gateway requests for it now: being answered, starting it, or queued.
        gateway_queued (int): Of those, waiting in its queue for a free slot (`max_concurrency`).
    """

    profile_id: str
    profile_name: str
    pid: int
    port: int
    state: ServerState
    health: ServerHealth
    uptime_seconds: int
    memory_mb: float
    cpu_percent: float
    gateway_requests: int
    gateway_queued: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        profile_id = self.profile_id

        profile_name = self.profile_name

        pid = self.pid

        port = self.port

        state = self.state.value

        health = self.health.value

        uptime_seconds = self.uptime_seconds

        memory_mb = self.memory_mb

        cpu_percent = self.cpu_percent

        gateway_requests = self.gateway_requests

        gateway_queued = self.gateway_queued

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "profile_id": profile_id,
                "profile_name": profile_name,
                "pid": pid,
                "port": port,
                "state": state,
                "health": health,
                "uptime_seconds": uptime_seconds,
                "memory_mb": memory_mb,
                "cpu_percent": cpu_percent,
                "gateway_requests": gateway_requests,
                "gateway_queued": gateway_queued,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        profile_id = d.pop("profile_id")

        profile_name = d.pop("profile_name")

        pid = d.pop("pid")

        port = d.pop("port")

        state = ServerState(d.pop("state"))

        health = ServerHealth(d.pop("health"))

        uptime_seconds = d.pop("uptime_seconds")

        memory_mb = d.pop("memory_mb")

        cpu_percent = d.pop("cpu_percent")

        gateway_requests = d.pop("gateway_requests")

        gateway_queued = d.pop("gateway_queued")

        server_info = cls(
            profile_id=profile_id,
            profile_name=profile_name,
            pid=pid,
            port=port,
            state=state,
            health=health,
            uptime_seconds=uptime_seconds,
            memory_mb=memory_mb,
            cpu_percent=cpu_percent,
            gateway_requests=gateway_requests,
            gateway_queued=gateway_queued,
        )

        server_info.additional_properties = d
        return server_info

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
