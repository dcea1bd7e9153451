from enum import StrEnum


class ModelType(StrEnum):
    EMBEDDINGS = "embeddings"
    IMAGE_EDIT = "image-edit"
    IMAGE_GENERATION = "image-generation"
    LM = "lm"
    MULTIMODAL = "multimodal"
    WHISPER = "whisper"

    def __str__(self) -> str:
        return str(self.value)
