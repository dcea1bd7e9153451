from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.health_status import HealthStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="HealthReport")


@_attrs_define
class HealthReport:
    """A health probe of a server.

    Attributes:
        status (HealthStatus): A health probe's verdict.
        response_time_ms (int | Unset): Time to the answer.
        model_loaded (bool | Unset): A model is loaded (`data` is not empty).
        error (str | Unset): Why it is unhealthy.
    """

    status: HealthStatus
    response_time_ms: int | Unset = UNSET
    model_loaded: bool | Unset = UNSET
    error: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        status = self.status.value

        response_time_ms = self.response_time_ms

        model_loaded = self.model_loaded

        error = self.error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "status": status,
            }
        )
        if response_time_ms is not UNSET:
            field_dict["response_time_ms"] = response_time_ms
        if model_loaded is not UNSET:
            field_dict["model_loaded"] = model_loaded
        if error is not UNSET:
            field_dict["error"] = error

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        status = HealthStatus(d.pop("status"))

        response_time_ms = d.pop("response_time_ms", UNSET)

        model_loaded = d.pop("model_loaded", UNSET)

        error = d.pop("error", UNSET)

        health_report = cls(
            status=status,
            response_time_ms=response_time_ms,
            model_loaded=model_loaded,
            error=error,
        )

        health_report.additional_properties = d
        return health_report

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
