"""The outbox table: one row per message and recipient, kept after sending for the record."""
from __future__ import annotations

from sqlalchemy import BigInteger, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from scada_core.storage.models import Base


class OutboxRow(Base):
    """A message waiting to go out (pending), or gone (sent), or given up (failed).

    SMS progress is kept per part: ``parts_sent`` and the message references ``refs`` are written right after each
    +CMGS, so a restart resumes at the next part with the same concatenation reference and never repeats a part.
    """

    __tablename__ = "notify_outbox"
    __table_args__ = (Index("ix_notify_outbox_due", "channel", "status", "next_attempt_ts"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(8))
    target: Mapped[str] = mapped_column(String(255))
    account_id: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(Text)
    # What lists and logs show: a secret in the text (a one-time code) masked.
    body: Mapped[str] = mapped_column(Text)
    # The real text of a message holding a secret, only while it waits; wiped once it is sent or given up.
    secret_body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_ts: Mapped[float] = mapped_column(Float)
    created_ts: Mapped[float] = mapped_column(Float, index=True)
    sent_ts: Mapped[float | None] = mapped_column(Float)
    last_error: Mapped[str | None] = mapped_column(Text)
    concat_ref: Mapped[int] = mapped_column(Integer, default=0)
    parts_total: Mapped[int] = mapped_column(Integer, default=0)
    parts_sent: Mapped[int] = mapped_column(Integer, default=0)
    refs: Mapped[str] = mapped_column(String(255), default="")
    delivery: Mapped[str | None] = mapped_column(String(16))
    message_id: Mapped[str | None] = mapped_column(String(255))

    def as_dict(self) -> dict[str, object]:
        """Return a JSON-friendly form (never the secret text)."""
        return {c.name: getattr(self, c.name) for c in self.__table__.columns if c.name != "secret_body"}

    @property
    def text(self) -> str:
        """Return the text to send: the real one when it holds a secret."""
        return self.secret_body if self.secret_body is not None else self.body
