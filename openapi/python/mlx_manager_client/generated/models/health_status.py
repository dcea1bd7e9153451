from enum import StrEnum


class HealthStatus(StrEnum):
    HEALTHY = "healthy"
    STOPPED = "stopped"
    UNHEALTHY = "unhealthy"

    def __str__(self) -> str:
        return str(self.value)
