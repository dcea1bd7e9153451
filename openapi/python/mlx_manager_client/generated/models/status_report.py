from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="StatusReport")


@_attrs_define
class StatusReport:
    """The status of a profile's server (of its last run, once it has ended).

    Attributes:
        profile_id (str): The profile.
        running (bool): It runs.
        failed (bool): Its last run ended without being asked to, or failed to start.
        pid (int | Unset): Process id, while it runs.
        exit_code (int | Unset): Exit code of its last run.
        error_message (str | Unset): What went wrong.
    """

    profile_id: str
    running: bool
    failed: bool
    pid: int | Unset = UNSET
    exit_code: int | Unset = UNSET
    error_message: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        profile_id = self.profile_id

        running = self.running

        failed = self.failed

        pid = self.pid

        exit_code = self.exit_code

        error_message = self.error_message

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "profile_id": profile_id,
                "running": running,
                "failed": failed,
            }
        )
        if pid is not UNSET:
            field_dict["pid"] = pid
        if exit_code is not UNSET:
            field_dict["exit_code"] = exit_code
        if error_message is not UNSET:
            field_dict["error_message"] = error_message

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        profile_id = d.pop("profile_id")

        running = d.pop("running")

        failed = d.pop("failed")

        pid = d.pop("pid", UNSET)

        exit_code = d.pop("exit_code", UNSET)

        error_message = d.pop("error_message", UNSET)

        status_report = cls(
            profile_id=profile_id,
            running=running,
            failed=failed,
            pid=pid,
            exit_code=exit_code,
            error_message=error_message,
        )

        status_report.additional_properties = d
        return status_report

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
