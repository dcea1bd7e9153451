from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ModelCharacteristics")


@_attrs_define
class ModelCharacteristics:
    """What a model's `config.json` says about it.

    Attributes:
        architectures (list[str]): `architectures`.
        is_multimodal (bool): Whether the model takes images (`vision_config` or `image_token_id`).
        model_type (str | Unset): `model_type`, e.g. `qwen2`.
        max_position_embeddings (int | Unset): Context length (`max_position_embeddings`).
        num_hidden_layers (int | Unset): `num_hidden_layers`.
        hidden_size (int | Unset): `hidden_size`.
        vocab_size (int | Unset): `vocab_size`.
        num_attention_heads (int | Unset): `num_attention_heads`.
        num_key_value_heads (int | Unset): `num_key_value_heads`.
        quantization_bits (int | Unset): `quantization.bits`.
        quantization_group_size (int | Unset): `quantization.group_size`.
    """

    architectures: list[str]
    is_multimodal: bool
    model_type: str | Unset = UNSET
    max_position_embeddings: int | Unset = UNSET
    num_hidden_layers: int | Unset = UNSET
    hidden_size: int | Unset = UNSET
    vocab_size: int | Unset = UNSET
    num_attention_heads: int | Unset = UNSET
    num_key_value_heads: int | Unset = UNSET
    quantization_bits: int | Unset = UNSET
    quantization_group_size: int | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        architectures = self.architectures

        is_multimodal = self.is_multimodal

        model_type = self.model_type

        max_position_embeddings = self.max_position_embeddings

        num_hidden_layers = self.num_hidden_layers

        hidden_size = self.hidden_size

        vocab_size = self.vocab_size

        num_attention_heads = self.num_attention_heads

        num_key_value_heads = self.num_key_value_heads

        quantization_bits = self.quantization_bits

        quantization_group_size = self.quantization_group_size

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "architectures": architectures,
                "is_multimodal": is_multimodal,
            }
        )
        if model_type is not UNSET:
            field_dict["model_type"] = model_type
        if max_position_embeddings is not UNSET:
            field_dict["max_position_embeddings"] = max_position_embeddings
        if num_hidden_layers is not UNSET:
            field_dict["num_hidden_layers"] = num_hidden_layers
        if hidden_size is not UNSET:
            field_dict["hidden_size"] = hidden_size
        if vocab_size is not UNSET:
            field_dict["vocab_size"] = vocab_size
        if num_attention_heads is not UNSET:
            field_dict["num_attention_heads"] = num_attention_heads
        if num_key_value_heads is not UNSET:
            field_dict["num_key_value_heads"] = num_key_value_heads
        if quantization_bits is not UNSET:
            field_dict["quantization_bits"] = quantization_bits
        if quantization_group_size is not UNSET:
            field_dict["quantization_group_size"] = quantization_group_size

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        architectures = cast(list[str], d.pop("architectures"))

        is_multimodal = d.pop("is_multimodal")

        model_type = d.pop("model_type", UNSET)

        max_position_embeddings = d.pop("max_position_embeddings", UNSET)

        num_hidden_layers = d.pop("num_hidden_layers", UNSET)

        hidden_size = d.pop("hidden_size", UNSET)

        vocab_size = d.pop("vocab_size", UNSET)

        num_attention_heads = d.pop("num_attention_heads", UNSET)

        num_key_value_heads = d.pop("num_key_value_heads", UNSET)

        quantization_bits = d.pop("quantization_bits", UNSET)

        quantization_group_size = d.pop("quantization_group_size", UNSET)

        model_characteristics = cls(
            architectures=architectures,
            is_multimodal=is_multimodal,
            model_type=model_type,
            max_position_embeddings=max_position_embeddings,
            num_hidden_layers=num_hidden_layers,
            hidden_size=hidden_size,
            vocab_size=vocab_size,
            num_attention_heads=num_attention_heads,
            num_key_value_heads=num_key_value_heads,
            quantization_bits=quantization_bits,
            quantization_group_size=quantization_group_size,
        )

        model_characteristics.additional_properties = d
        return model_characteristics

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
