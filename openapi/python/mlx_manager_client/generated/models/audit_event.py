from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.audit_actor import AuditActor
    from ..models.audit_target import AuditTarget


T = TypeVar("T", bound="AuditEvent")


@_attrs_define
class AuditEvent:
    """One audit event. Never holds a password, token, key or request body.

    Attributes:
        id (str): Opaque, time-ordered id.
        time (datetime.datetime): When it happened.
        actor (AuditActor): Who acted.
        action (str): What happened: `auth.login`, `profile.create`, `request.denied`...
        target (AuditTarget): What was acted on.
        outcome (str): `ok`, `denied` or `failed`.
        address (str | Unset): The client's address.
        detail (str | Unset): A short sentence.
    """

    id: str
    time: datetime.datetime
    actor: AuditActor
    action: str
    target: AuditTarget
    outcome: str
    address: str | Unset = UNSET
    detail: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        time = self.time.isoformat()

        actor = self.actor.to_dict()

        action = self.action

        target = self.target.to_dict()

        outcome = self.outcome

        address = self.address

        detail = self.detail

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "id": id,
                "time": time,
                "actor": actor,
                "action": action,
                "target": target,
                "outcome": outcome,
            }
        )
        if address is not UNSET:
            field_dict["address"] = address
        if detail is not UNSET:
            field_dict["detail"] = detail

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.audit_actor import AuditActor
        from ..models.audit_target import AuditTarget

        d = dict(src_dict)
        id = d.pop("id")

        time = datetime.datetime.fromisoformat(d.pop("time"))

        actor = AuditActor.from_dict(d.pop("actor"))

        action = d.pop("action")

        target = AuditTarget.from_dict(d.pop("target"))

        outcome = d.pop("outcome")

        address = d.pop("address", UNSET)

        detail = d.pop("detail", UNSET)

        audit_event = cls(
            id=id,
            time=time,
            actor=actor,
            action=action,
            target=target,
            outcome=outcome,
            address=address,
            detail=detail,
        )

        audit_event.additional_properties = d
        return audit_event

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
