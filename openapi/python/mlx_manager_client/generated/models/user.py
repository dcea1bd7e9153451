from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.role import Role
from ..models.user_status import UserStatus
from ..types import UNSET, Unset

T = TypeVar("T", bound="User")


@_attrs_define
class User:
    """A user. The password hash never leaves the server.

    Attributes:
        id (str): Opaque, URL-safe id.
        email (str): Normalised (trimmed, lower-case) email.
        role (Role): A user's role, in order: each may do everything the ones before it may.
        is_admin (bool): Administrator: exactly `role == "admin"` (kept for older clients).
        status (UserStatus): An account's state.
        created_at (datetime.datetime): Registration time.
        approved_at (datetime.datetime | Unset): First approval time.
        approved_by (str | Unset): Id of the admin who approved the account.
    """

    id: str
    email: str
    role: Role
    is_admin: bool
    status: UserStatus
    created_at: datetime.datetime
    approved_at: datetime.datetime | Unset = UNSET
    approved_by: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        email = self.email

        role = self.role.value

        is_admin = self.is_admin

        status = self.status.value

        created_at = self.created_at.isoformat()

        approved_at: str | Unset = UNSET
        if not isinstance(self.approved_at, Unset):
            approved_at = self.approved_at.isoformat()

        approved_by = self.approved_by

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "email": email,
                "role": role,
                "is_admin": is_admin,
                "status": status,
                "created_at": created_at,
            }
        )
        if approved_at is not UNSET:
            field_dict["approved_at"] = approved_at
        if approved_by is not UNSET:
            field_dict["approved_by"] = approved_by

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        id = d.pop("id")

        email = d.pop("email")

        role = Role(d.pop("role"))

        is_admin = d.pop("is_admin")

        status = UserStatus(d.pop("status"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        _approved_at = d.pop("approved_at", UNSET)
        approved_at: datetime.datetime | Unset
        if isinstance(_approved_at, Unset):
            approved_at = UNSET
        else:
            approved_at = datetime.datetime.fromisoformat(_approved_at)

        approved_by = d.pop("approved_by", UNSET)

        user = cls(
            id=id,
            email=email,
            role=role,
            is_admin=is_admin,
            status=status,
            created_at=created_at,
            approved_at=approved_at,
            approved_by=approved_by,
        )

        user.additional_properties = d
        return user

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
