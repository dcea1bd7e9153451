from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.log_event_kind import LogEventKind
from ..types import UNSET, Unset

T = TypeVar("T", bound="LogEvent")


@_attrs_define
class LogEvent:
    """One event of a log stream (the `data` of each server-sent event, as JSON).

    Attributes:
        event (LogEventKind): What a log stream event carries.
        line (str | Unset): The line, for `log`.
        exit_code (int | Unset): Exit code, for `stopped` (when known).
        failed (bool | Unset): Whether the run failed, for `stopped`.
    """

    event: LogEventKind
    line: str | Unset = UNSET
    exit_code: int | Unset = UNSET
    failed: bool | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        event = self.event.value

        line = self.line

        exit_code = self.exit_code

        failed = self.failed

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "event": event,
            }
        )
        if line is not UNSET:
            field_dict["line"] = line
        if exit_code is not UNSET:
            field_dict["exit_code"] = exit_code
        if failed is not UNSET:
            field_dict["failed"] = failed

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        event = LogEventKind(d.pop("event"))

        line = d.pop("line", UNSET)

        exit_code = d.pop("exit_code", UNSET)

        failed = d.pop("failed", UNSET)

        log_event = cls(
            event=event,
            line=line,
            exit_code=exit_code,
            failed=failed,
        )

        log_event.additional_properties = d
        return log_event

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
