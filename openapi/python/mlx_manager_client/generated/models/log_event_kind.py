from enum import StrEnum


class LogEventKind(StrEnum):
    LOG = "log"
    STOPPED = "stopped"

    def __str__(self) -> str:
        return str(self.value)
