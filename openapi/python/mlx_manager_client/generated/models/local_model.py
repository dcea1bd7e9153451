from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.model_characteristics import ModelCharacteristics


T = TypeVar("T", bound="LocalModel")


@_attrs_define
class LocalModel:
    """A model in the local cache.

    Attributes:
        model_id (str): `org/name`.
        local_path (str): The snapshot directory (usable as a profile's `model_path`).
        size_bytes (int): Bytes of the snapshot's files.
        size_gb (float): `size_bytes` in GB (10^9 bytes), two decimals.
        characteristics (ModelCharacteristics | Unset): What a model's `config.json` says about it.
    """

    model_id: str
    local_path: str
    size_bytes: int
    size_gb: float
    characteristics: ModelCharacteristics | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        model_id = self.model_id

        local_path = self.local_path

        size_bytes = self.size_bytes

        size_gb = self.size_gb

        characteristics: dict[str, Any] | Unset = UNSET
        if not isinstance(self.characteristics, Unset):
            characteristics = self.characteristics.to_dict()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "model_id": model_id,
                "local_path": local_path,
                "size_bytes": size_bytes,
                "size_gb": size_gb,
            }
        )
        if characteristics is not UNSET:
            field_dict["characteristics"] = characteristics

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.model_characteristics import ModelCharacteristics

        d = dict(src_dict)
        model_id = d.pop("model_id")

        local_path = d.pop("local_path")

        size_bytes = d.pop("size_bytes")

        size_gb = d.pop("size_gb")

        _characteristics = d.pop("characteristics", UNSET)
        characteristics: ModelCharacteristics | Unset
        if isinstance(_characteristics, Unset):
            characteristics = UNSET
        else:
            characteristics = ModelCharacteristics.from_dict(_characteristics)

        local_model = cls(
            model_id=model_id,
            local_path=local_path,
            size_bytes=size_bytes,
            size_gb=size_gb,
            characteristics=characteristics,
        )

        local_model.additional_properties = d
        return local_model

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
