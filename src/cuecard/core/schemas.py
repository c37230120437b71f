"""Response envelopes and shared field types."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, PlainSerializer

from cuecard.core.db import format_timestamp

T = TypeVar("T")

Timestamp = Annotated[datetime, PlainSerializer(format_timestamp, return_type=str)]
# A timestamp as a typed row holds it when the row keeps the database's text (`core.db.Row`):
# already the wire's text, so neither parsed nor formatted again. The same OpenAPI as Timestamp.
TimestampText = str


class Envelope(BaseModel, Generic[T]):
    success: bool = True
    data: T


class MessageEnvelope(BaseModel, Generic[T]):
    success: bool = True
    message: str
    data: T


class Message(BaseModel):
    success: bool = True
    message: str


class PageMeta(BaseModel):
    current_page: int
    per_page: int
    total: int
    last_page: int


class Page(BaseModel, Generic[T]):
    success: bool = True
    data: list[T]
    meta: PageMeta

    @classmethod
    def of(cls, items: list[T], *, page: int, per_page: int, total: int) -> Page[T]:
        last_page = max(1, -(-total // per_page))
        return cls(
            data=items,
            meta=PageMeta(current_page=page, per_page=per_page, total=total, last_page=last_page),
        )
