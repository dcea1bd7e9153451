from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="ModelSearchResult")


@_attrs_define
class ModelSearchResult:
    """A search hit.

    Attributes:
        model_id (str): `org/name`.
        author (str): The author or organisation.
        downloads (int): Downloads (last 30 days, as the Hub counts them).
        likes (int): Likes.
        estimated_size_gb (float): Size in GB (10^9 bytes): the Hub's `usedStorage`, else estimated from the
            name; 0 when neither is known.
        tags (list[str]): The Hub's tags.
        is_downloaded (bool): Whether the local cache holds a complete snapshot.
        last_modified (str | Unset): Last change on the Hub (RFC 3339).
    """

    model_id: str
    author: str
    downloads: int
    likes: int
    estimated_size_gb: float
    tags: list[str]
    is_downloaded: bool
    last_modified: str | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        model_id = self.model_id

        author = self.author

        downloads = self.downloads

        likes = self.likes

        estimated_size_gb = self.estimated_size_gb

        tags = self.tags

        is_downloaded = self.is_downloaded

        last_modified = self.last_modified

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "model_id": model_id,
                "author": author,
                "downloads": downloads,
                "likes": likes,
                "estimated_size_gb": estimated_size_gb,
                "tags": tags,
                "is_downloaded": is_downloaded,
            }
        )
        if last_modified is not UNSET:
            field_dict["last_modified"] = last_modified

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        model_id = d.pop("model_id")

        author = d.pop("author")

        downloads = d.pop("downloads")

        likes = d.pop("likes")

        estimated_size_gb = d.pop("estimated_size_gb")

        tags = cast(list[str], d.pop("tags"))

        is_downloaded = d.pop("is_downloaded")

        last_modified = d.pop("last_modified", UNSET)

        model_search_result = cls(
            model_id=model_id,
            author=author,
            downloads=downloads,
            likes=likes,
            estimated_size_gb=estimated_size_gb,
            tags=tags,
            is_downloaded=is_downloaded,
            last_modified=last_modified,
        )

        model_search_result.additional_properties = d
        return model_search_result

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
