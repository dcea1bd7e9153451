from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ThrottleLock")


@_attrs_define
class ThrottleLock:
    """A throttle lock in force.

    Attributes:
        failures (int): Failed attempts in the window.
        locked_until (datetime.datetime): When the lock ends (the oldest failure leaves the window).
        account (str | Unset): The account, for account locks.
        address (str | Unset): The address, for address locks.
    """

    failures: int
    locked_until: datetime.datetime
    account: str | Unset = UNSET
    address: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        failures = self.failures

        locked_until = self.locked_until.isoformat()

        account = self.account

        address = self.address

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "failures": failures,
                "locked_until": locked_until,
            }
        )
        if account is not UNSET:
            field_dict["account"] = account
        if address is not UNSET:
            field_dict["address"] = address

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        failures = d.pop("failures")

        locked_until = datetime.datetime.fromisoformat(d.pop("locked_until"))

        account = d.pop("account", UNSET)

        address = d.pop("address", UNSET)

        throttle_lock = cls(
            failures=failures,
            locked_until=locked_until,
            account=account,
            address=address,
        )

        throttle_lock.additional_properties = d
        return throttle_lock

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
