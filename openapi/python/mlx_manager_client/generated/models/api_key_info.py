from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ApiKeyInfo")


@_attrs_define
class ApiKeyInfo:
    """An API key. `prefix` (`mlxm_<id>`) is what lists and logs show; the secret
    is shown once, when the key is created.

        Attributes:
            id (str): The key's public id.
            name (str): Its name, unique per user.
            prefix (str): `mlxm_<id>`.
            created_at (datetime.datetime): Creation time.
            actions (list[str] | None | Unset): The actions it may take; `null`: whatever its owner's role allows.
            models (list[str] | None | Unset): The gateway models (profile names) it may use; `null`: all.
            expires_at (datetime.datetime | Unset): When it stops working; absent: never.
            last_used_at (datetime.datetime | Unset): Its last use, to within a minute.
            last_used_address (str | Unset): The client address of its last use.
            rpm (int | Unset): Gateway requests a minute (counted by each manager).
            max_concurrent (int | Unset): Gateway requests at once (counted by each manager).
    """

    id: str
    name: str
    prefix: str
    created_at: datetime.datetime
    actions: list[str] | None | Unset = UNSET
    models: list[str] | None | Unset = UNSET
    expires_at: datetime.datetime | Unset = UNSET
    last_used_at: datetime.datetime | Unset = UNSET
    last_used_address: str | Unset = UNSET
    rpm: int | Unset = UNSET
    max_concurrent: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        name = self.name

        prefix = self.prefix

        created_at = self.created_at.isoformat()

        actions: list[str] | None | Unset
        if isinstance(self.actions, Unset):
            actions = UNSET
        elif isinstance(self.actions, list):
            actions = self.actions

        else:
            actions = self.actions

        models: list[str] | None | Unset
        if isinstance(self.models, Unset):
            models = UNSET
        elif isinstance(self.models, list):
            models = self.models

        else:
            models = self.models

        expires_at: str | Unset = UNSET
        if not isinstance(self.expires_at, Unset):
            expires_at = self.expires_at.isoformat()

        last_used_at: str | Unset = UNSET
        if not isinstance(self.last_used_at, Unset):
            last_used_at = self.last_used_at.isoformat()

        last_used_address = self.last_used_address

        rpm = self.rpm

        max_concurrent = self.max_concurrent

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "name": name,
                "prefix": prefix,
                "created_at": created_at,
            }
        )
        if actions is not UNSET:
            field_dict["actions"] = actions
        if models is not UNSET:
            field_dict["models"] = models
        if expires_at is not UNSET:
            field_dict["expires_at"] = expires_at
        if last_used_at is not UNSET:
            field_dict["last_used_at"] = last_used_at
        if last_used_address is not UNSET:
            field_dict["last_used_address"] = last_used_address
        if rpm is not UNSET:
            field_dict["rpm"] = rpm
        if max_concurrent is not UNSET:
            field_dict["max_concurrent"] = max_concurrent

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        id = d.pop("id")

        name = d.pop("name")

        prefix = d.pop("prefix")

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_actions(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                actions_type_0 = cast(list[str], data)

                return actions_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        actions = _parse_actions(d.pop("actions", UNSET))

        def _parse_models(data: object) -> list[str] | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, list):
                    raise TypeError()
                models_type_0 = cast(list[str], data)

                return models_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(list[str] | None | Unset, data)

        models = _parse_models(d.pop("models", UNSET))

        _expires_at = d.pop("expires_at", UNSET)
        expires_at: datetime.datetime | Unset
        if isinstance(_expires_at, Unset):
            expires_at = UNSET
        else:
            expires_at = datetime.datetime.fromisoformat(_expires_at)

        _last_used_at = d.pop("last_used_at", UNSET)
        last_used_at: datetime.datetime | Unset
        if isinstance(_last_used_at, Unset):
            last_used_at = UNSET
        else:
            last_used_at = datetime.datetime.fromisoformat(_last_used_at)

        last_used_address = d.pop("last_used_address", UNSET)

        rpm = d.pop("rpm", UNSET)

        max_concurrent = d.pop("max_concurrent", UNSET)

        api_key_info = cls(
            id=id,
            name=name,
            prefix=prefix,
            created_at=created_at,
            actions=actions,
            models=models,
            expires_at=expires_at,
            last_used_at=last_used_at,
            last_used_address=last_used_address,
            rpm=rpm,
            max_concurrent=max_concurrent,
        )

        api_key_info.additional_properties = d
        return api_key_info

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
