from enum import StrEnum


class UsageGroupBy(StrEnum):
    KEY = "key"
    PROFILE = "profile"
    USER = "user"

    def __str__(self) -> str:
        return str(self.value)
