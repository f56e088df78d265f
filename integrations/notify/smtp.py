"""The e-mail channel: stored messages go out through aiosmtplib (STARTTLS, SSL or plain, with login)."""
from __future__ import annotations

import ssl
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import aiosmtplib

from .const import (
    CHANNEL_EMAIL,
    CONF_CA_FILE,
    CONF_HOST,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_SECURITY,
    CONF_SENDER,
    CONF_TIMEOUT,
    CONF_USERNAME,
    SECURITY_NONE,
    SECURITY_SSL,
    SECURITY_STARTTLS,
)
from .models import OutboxRow
from .outbox import Outbox
from .worker import PermanentError


def build_message(row: OutboxRow, sender: str) -> EmailMessage:
    """Return the UTF-8 e-mail for ``row`` (its Message-ID stays the same on every retry)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row.target
    message["Subject"] = row.subject or ""
    message["Date"] = formatdate(localtime=True)
    if row.message_id:
        message["Message-ID"] = row.message_id
    message.set_content(row.text, charset="utf-8")
    return message


class EmailChannel:
    """Send e-mail through one SMTP server."""

    name = CHANNEL_EMAIL

    def __init__(self, outbox: Outbox, config: dict[str, Any]) -> None:
        self.outbox = outbox
        self.config = config
        # Certificates are always verified; ca_file adds a private CA (or a self-signed server certificate).
        self.tls_context = ssl.create_default_context(cafile=config.get(CONF_CA_FILE))

    async def async_wait_ready(self) -> None:
        """SMTP has no standing connection: always try."""

    def queue_changed(self, length: int) -> None:
        """Nothing shows the e-mail queue yet."""

    def abort(self) -> None:
        """Nothing to cut short: the SMTP timeout bounds a send."""

    async def async_deliver(self, row: OutboxRow) -> None:
        """Hand ``row`` to the SMTP server; mark it sent once the server accepted it."""
        config = self.config
        try:
            await aiosmtplib.send(
                build_message(row, config[CONF_SENDER]),
                hostname=config[CONF_HOST],
                port=config.get(CONF_PORT),
                username=config.get(CONF_USERNAME),
                password=config.get(CONF_PASSWORD),
                use_tls=config[CONF_SECURITY] == SECURITY_SSL,
                start_tls=config[CONF_SECURITY] == SECURITY_STARTTLS,
                timeout=config[CONF_TIMEOUT],
                tls_context=self.tls_context if config[CONF_SECURITY] != SECURITY_NONE else None,
            )
        except aiosmtplib.SMTPRecipientsRefused as err:
            raise PermanentError(f"recipient refused: {err}") from err
        except aiosmtplib.SMTPAuthenticationError as err:
            raise PermanentError(f"SMTP login refused (check username/password): {err}") from err
        await self.outbox.async_mark_sent(row.id)
