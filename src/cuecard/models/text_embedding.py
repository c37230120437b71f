from __future__ import annotations

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from cuecard.models.base import Base


class TextEmbedding(Base):
    """A text's dense vector, so that a new version or another server process re-encodes only
    texts never seen before (see cuecard.runtime.vector_store).

    Keyed by the model (its name, file digest, quantisation and runtime version: a vector is only
    reused by the exact encoder that made it) and the SHA-256 of the text; the text itself is not
    stored. The vector is float32, little-endian.
    """

    __tablename__ = "text_embeddings"

    model: Mapped[str] = mapped_column(String(64), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
