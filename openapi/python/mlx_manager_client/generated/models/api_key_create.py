from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ApiKeyCreate")


@_attrs_define
class ApiKeyCreate:
    """A new key.

    Attributes:
        name (str): 1 to 64 printable characters, unique among the caller's keys.
        expires_in_days (int | Unset): Whole days it lives, at least 1 and at most `[plugins.auth]
            max_key_lifetime` (365 days by default). Left out: that maximum, or
            forever when there is none.
        actions (list[str] | Unset): Actions it may take, each one the caller's role allows (not `keys.*` or
            `users.manage`, which need a login token). Left out: whatever the
            owner's role allows, now and later.
        models (list[str] | Unset): Gateway models (profile names) it may use. Left out: all.
        rpm (int | Unset): Gateway requests a minute, counted by each manager.
        max_concurrent (int | Unset): Gateway requests at once, counted by each manager.
    """

    name: str
    expires_in_days: int | Unset = UNSET
    actions: list[str] | Unset = UNSET
    models: list[str] | Unset = UNSET
    rpm: int | Unset = UNSET
    max_concurrent: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        expires_in_days = self.expires_in_days

        actions: list[str] | Unset = UNSET
        if not isinstance(self.actions, Unset):
            actions = self.actions

        models: list[str] | Unset = UNSET
        if not isinstance(self.models, Unset):
            models = self.models

        rpm = self.rpm

        max_concurrent = self.max_concurrent

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "name": name,
            }
        )
        if expires_in_days is not UNSET:
            field_dict["expires_in_days"] = expires_in_days
        if actions is not UNSET:
            field_dict["actions"] = actions
        if models is not UNSET:
            field_dict["models"] = models
        if rpm is not UNSET:
            field_dict["rpm"] = rpm
        if max_concurrent is not UNSET:
            field_dict["max_concurrent"] = max_concurrent

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        name = d.pop("name")

        expires_in_days = d.pop("expires_in_days", UNSET)

        actions = cast(list[str], d.pop("actions", UNSET))

        models = cast(list[str], d.pop("models", UNSET))

        rpm = d.pop("rpm", UNSET)

        max_concurrent = d.pop("max_concurrent", UNSET)

        api_key_create = cls(
            name=name,
            expires_in_days=expires_in_days,
            actions=actions,
            models=models,
            rpm=rpm,
            max_concurrent=max_concurrent,
        )

        api_key_create.additional_properties = d
        return api_key_create

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
