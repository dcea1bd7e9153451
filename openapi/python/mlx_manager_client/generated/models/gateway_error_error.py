from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="GatewayErrorError")


@_attrs_define
class GatewayErrorError:
    """
    Attributes:
        message (str): A sentence saying what went wrong.
        type_ (str): OpenAI's error type (`invalid_request_error`, `rate_limit_error`, ...).
        code (str): `invalid_api_key`, `forbidden`, `model_not_allowed`, `model_not_found`, `invalid_request`,
            `request_too_large`, `rate_limited`, `model_unavailable`, `upstream_timeout` or `internal_error`.
        param (None | str | Unset): The request field at fault (`model`), or null.
    """

    message: str
    type_: str
    code: str
    param: None | str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        message = self.message

        type_ = self.type_

        code = self.code

        param: None | str | Unset
        if isinstance(self.param, Unset):
            param = UNSET
        else:
            param = self.param

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "message": message,
                "type": type_,
                "code": code,
            }
        )
        if param is not UNSET:
            field_dict["param"] = param

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        message = d.pop("message")

        type_ = d.pop("type")

        code = d.pop("code")

        def _parse_param(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        param = _parse_param(d.pop("param", UNSET))

        gateway_error_error = cls(
            message=message,
            type_=type_,
            code=code,
            param=param,
        )

        gateway_error_error.additional_properties = d
        return gateway_error_error

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
