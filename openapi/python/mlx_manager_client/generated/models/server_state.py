from enum import StrEnum


class ServerState(StrEnum):
    RUNNING = "running"
    STARTING = "starting"
    STOPPING = "stopping"

    def __str__(self) -> str:
        return str(self.value)
