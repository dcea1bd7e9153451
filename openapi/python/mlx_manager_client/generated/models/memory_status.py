from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="MemoryStatus")


@_attrs_define
class MemoryStatus:
    """Memory of the host, in GiB.

    Attributes:
        total_gb (float): Physical memory.
        available_gb (float): Memory available to new processes.
        used_gb (float): `total_gb - available_gb`.
        percent_used (float): Used memory in percent of total.
        mlx_recommended_gb (float): The memory budget recommended for MLX models (`[system] max_memory_percent`
            of total memory).
    """

    total_gb: float
    available_gb: float
    used_gb: float
    percent_used: float
    mlx_recommended_gb: float
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        total_gb = self.total_gb

        available_gb = self.available_gb

        used_gb = self.used_gb

        percent_used = self.percent_used

        mlx_recommended_gb = self.mlx_recommended_gb

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "total_gb": total_gb,
                "available_gb": available_gb,
                "used_gb": used_gb,
                "percent_used": percent_used,
                "mlx_recommended_gb": mlx_recommended_gb,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        total_gb = d.pop("total_gb")

        available_gb = d.pop("available_gb")

        used_gb = d.pop("used_gb")

        percent_used = d.pop("percent_used")

        mlx_recommended_gb = d.pop("mlx_recommended_gb")

        memory_status = cls(
            total_gb=total_gb,
            available_gb=available_gb,
            used_gb=used_gb,
            percent_used=percent_used,
            mlx_recommended_gb=mlx_recommended_gb,
        )

        memory_status.additional_properties = d
        return memory_status

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
