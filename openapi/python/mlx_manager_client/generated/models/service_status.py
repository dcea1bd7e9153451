from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ServiceStatus")


@_attrs_define
class ServiceStatus:
    """A login service's state.

    Attributes:
        installed (bool): Its file exists.
        running (bool): launchd / systemd reports it running.
        label (str): Its label.
        pid (int | Unset): Its main process.
    """

    installed: bool
    running: bool
    label: str
    pid: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        installed = self.installed

        running = self.running

        label = self.label

        pid = self.pid

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "installed": installed,
                "running": running,
                "label": label,
            }
        )
        if pid is not UNSET:
            field_dict["pid"] = pid

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        installed = d.pop("installed")

        running = d.pop("running")

        label = d.pop("label")

        pid = d.pop("pid", UNSET)

        service_status = cls(
            installed=installed,
            running=running,
            label=label,
            pid=pid,
        )

        service_status.additional_properties = d
        return service_status

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
