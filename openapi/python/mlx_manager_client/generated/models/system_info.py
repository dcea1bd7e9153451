from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="SystemInfo")


@_attrs_define
class SystemInfo:
    """Facts about the host and the installed software.

    Attributes:
        os_version (str): Operating system name and version.
        chip (str): CPU or Apple chip.
        memory_gb (float): Physical memory in GiB.
        manager_version (str): This manager's version.
        mlx_version (str | Unset): MLX's version, when found (macOS).
        server_version (str | Unset): `mlx-openai-server X.Y.Z`, or the first line of another program's
            `--version`, when the program is found.
    """

    os_version: str
    chip: str
    memory_gb: float
    manager_version: str
    mlx_version: str | Unset = UNSET
    server_version: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        os_version = self.os_version

        chip = self.chip

        memory_gb = self.memory_gb

        manager_version = self.manager_version

        mlx_version = self.mlx_version

        server_version = self.server_version

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "os_version": os_version,
                "chip": chip,
                "memory_gb": memory_gb,
                "manager_version": manager_version,
            }
        )
        if mlx_version is not UNSET:
            field_dict["mlx_version"] = mlx_version
        if server_version is not UNSET:
            field_dict["server_version"] = server_version

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        os_version = d.pop("os_version")

        chip = d.pop("chip")

        memory_gb = d.pop("memory_gb")

        manager_version = d.pop("manager_version")

        mlx_version = d.pop("mlx_version", UNSET)

        server_version = d.pop("server_version", UNSET)

        system_info = cls(
            os_version=os_version,
            chip=chip,
            memory_gb=memory_gb,
            manager_version=manager_version,
            mlx_version=mlx_version,
            server_version=server_version,
        )

        system_info.additional_properties = d
        return system_info

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
