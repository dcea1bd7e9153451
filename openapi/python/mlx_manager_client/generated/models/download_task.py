from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.download_status import DownloadStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="DownloadTask")


@_attrs_define
class DownloadTask:
    """A download task and its progress.

    Attributes:
        task_id (str): Opaque id.
        model_id (str): `org/name`.
        status (DownloadStatus): Where a download task stands.
        progress (float): Percent done, 0 to 100 (one decimal).
        downloaded_bytes (int): Bytes on disk so far, partial files included.
        total_bytes (int): Bytes of all files of the revision (0 until the file list is known).
        error (str | Unset): Why the task failed.
    """

    task_id: str
    model_id: str
    status: DownloadStatus
    progress: float
    downloaded_bytes: int
    total_bytes: int
    error: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        task_id = self.task_id

        model_id = self.model_id

        status = self.status.value

        progress = self.progress

        downloaded_bytes = self.downloaded_bytes

        total_bytes = self.total_bytes

        error = self.error

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "task_id": task_id,
                "model_id": model_id,
                "status": status,
                "progress": progress,
                "downloaded_bytes": downloaded_bytes,
                "total_bytes": total_bytes,
            }
        )
        if error is not UNSET:
            field_dict["error"] = error

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        task_id = d.pop("task_id")

        model_id = d.pop("model_id")

        status = DownloadStatus(d.pop("status"))

        progress = d.pop("progress")

        downloaded_bytes = d.pop("downloaded_bytes")

        total_bytes = d.pop("total_bytes")

        error = d.pop("error", UNSET)

        download_task = cls(
            task_id=task_id,
            model_id=model_id,
            status=status,
            progress=progress,
            downloaded_bytes=downloaded_bytes,
            total_bytes=total_bytes,
            error=error,
        )

        download_task.additional_properties = d
        return download_task

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
