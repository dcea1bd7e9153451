from enum import StrEnum


class UserStatus(StrEnum):
    APPROVED = "approved"
    DISABLED = "disabled"
    PENDING = "pending"

    def __str__(self) -> str:
        return str(self.value)
