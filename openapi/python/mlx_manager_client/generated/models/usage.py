from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Usage")


@_attrs_define
class Usage:
    """Gateway usage of one group.

    Attributes:
        group (str): The user's email, the key's prefix (`login token` for requests made
            with one) or the profile's name.
        requests (int): Requests a profile was found for.
        errors (int): Of those, answered with a status of 400 or more (the gateway's 429s and
            503s, the server's errors, 499 when the client hung up, 502 when the
            server broke off its answer).
        prompt_tokens (int): Prompt tokens, from the answers' `usage`.
        completion_tokens (int): Completion tokens, from the answers' `usage`.
        duration_ms (int): Total time from arrival to the answer's end, in milliseconds.
    """

    group: str
    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    duration_ms: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        group = self.group

        requests = self.requests

        errors = self.errors

        prompt_tokens = self.prompt_tokens

        completion_tokens = self.completion_tokens

        duration_ms = self.duration_ms

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "group": group,
                "requests": requests,
                "errors": errors,
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "duration_ms": duration_ms,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        group = d.pop("group")

        requests = d.pop("requests")

        errors = d.pop("errors")

        prompt_tokens = d.pop("prompt_tokens")

        completion_tokens = d.pop("completion_tokens")

        duration_ms = d.pop("duration_ms")

        usage = cls(
            group=group,
            requests=requests,
            errors=errors,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            duration_ms=duration_ms,
        )

        usage.additional_properties = d
        return usage

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
