"""notify.email through aiosmtplib to a real SMTP server (aiosmtpd) on loopback, with login and retry."""
from __future__ import annotations

import asyncio
import email
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope

from integrations.notify.const import STATUS_SENT
from scada_core.core import Core
from scada_core.exceptions import ServiceValidationError
from tests.helpers import free_port

pytestmark = pytest.mark.timeout(40)

StartCore = Callable[..., Awaitable[Core]]


class Mailbox:
    """Keep every message the SMTP server accepted."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Envelope) -> str:  # noqa: N802 - aiosmtpd hook
        self.envelopes.append(envelope)
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=default_policy))
        return "250 OK"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
    return AuthResult(success=auth_data.login == b"alarms" and auth_data.password == b"s3cret")


def _email_config(port: int) -> dict[str, Any]:
    return {
        "host": "127.0.0.1", "port": port, "security": "none", "username": "alarms", "password": "s3cret",
        "sender": "OpenPrepay <alarms@example.com>", "timeout": 2, "retry_base": 0.1, "retry_max": 0.2,
    }


async def test_email_retried_until_the_server_is_up(start_core: StartCore) -> None:
    port = free_port()
    core = await start_core({"notify": {"email": _email_config(port)}})
    result = await core.services.async_call(
        "notify", "email",
        {"target": ["staff@example.com"], "template": "device_offline",
         "data": {"device": "网关 GW-1", "minutes": 15, "last_seen": "2026-11-25 20:45"}},
    )
    outbox = core.data["notify"].outbox
    async with asyncio.timeout(10):
        while (row := await outbox.async_get(result["ids"][0])).attempts < 1:
            await asyncio.sleep(0.05)
    assert row.status != STATUS_SENT
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, authenticator=_authenticate,
                            auth_require_tls=False)
    await asyncio.to_thread(controller.start)
    try:
        async with asyncio.timeout(10):
            while (row := await outbox.async_get(result["ids"][0])).status != STATUS_SENT:
                await asyncio.sleep(0.05)
    finally:
        await asyncio.to_thread(controller.stop)
    [message] = mailbox.messages
    assert message["Subject"] == "【测试大厦】设备离线：网关 GW-1"
    assert message["To"] == "staff@example.com"
    assert message["Message-ID"] == row.message_id
    body = message.get_content()
    assert "设备 网关 GW-1 已离线 15 分钟（最后一次通信：2026-11-25 20:45）" in body
    assert mailbox.envelopes[0].rcpt_tos == ["staff@example.com"]


async def test_email_subject_account_target_and_server_required(start_core: StartCore) -> None:
    core = await start_core({"notify": {"email": _email_config(free_port())}})
    with pytest.raises(ServiceValidationError, match="subject"):
        await core.services.async_call("notify", "email", {"target": "a@example.com", "message": "无主题"})
    core.data["notify_contacts"] = {3: {"name": "赵六", "email": "zhao@example.com"}}.get
    result = await core.services.async_call(
        "notify", "email", {"target": {"account_id": 3}, "subject": "账单", "message": "{{ tenant }}您好"}
    )
    row = await core.data["notify"].outbox.async_get(result["ids"][0])
    assert (row.target, row.body, row.account_id) == ("zhao@example.com", "赵六您好", "3")
    bare = await start_core({"notify": {}}, name="bare")
    with pytest.raises(ServiceValidationError, match="no e-mail server"):
        await bare.services.async_call("notify", "email", {"target": "a@example.com", "subject": "s", "message": "m"})


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """Return (cert, key) of a self-signed certificate for 127.0.0.1, made by Debian's openssl."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return str(cert), str(key)


@pytest.mark.parametrize("security", ["starttls", "ssl"])
async def test_email_over_tls_with_login(start_core: StartCore, certificate: tuple[str, str], security: str) -> None:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    mailbox = Mailbox()
    port = free_port()
    tls = {"tls_context": context, "require_starttls": True} if security == "starttls" else {
        "ssl_context": context, "auth_require_tls": False}  # aiosmtpd only counts STARTTLS as TLS; SMTPS is TLS throughout
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, authenticator=_authenticate, **tls)
    await asyncio.to_thread(controller.start)
    try:
        core = await start_core({"notify": {"email": {**_email_config(port), "security": security, "ca_file": cert}}})
        result = await core.services.async_call(
            "notify", "email", {"target": "staff@example.com", "subject": "过载告警", "message": "电表 {{ m }} 过载",
                                "data": {"m": "B1-0301"}},
        )
        outbox = core.data["notify"].outbox
        async with asyncio.timeout(10):
            while (row := await outbox.async_get(result["ids"][0])).status != STATUS_SENT:
                await asyncio.sleep(0.05)
    finally:
        await asyncio.to_thread(controller.stop)
    [message] = mailbox.messages
    assert message["Subject"] == "过载告警"
    assert message.get_content().strip() == "电表 B1-0301 过载"
    assert row.attempts == 0


@pytest.mark.parametrize("bad", [
    {"subject": "账单\r\nBcc: victim@example.com"},
    {"subject": "账单\n"},
    {"subject": "账单\x00"},
    {"target": "staff@example.com\n"},
    {"target": ["staff@example.com\r\nBcc: victim@example.com"]},
    {"subject": None, "message": "Subject: {{ s }}\n正文", "data": {"s": "账单\rBcc: victim@example.com"}},
    {"target": {"account_id": 4}},
])
async def test_email_header_injection_refused_at_the_call(start_core: StartCore, bad: dict[str, Any]) -> None:
    """CR/LF (or another control character) in a subject or recipient is refused by the call, nothing is queued."""
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, authenticator=_authenticate,
                            auth_require_tls=False)
    await asyncio.to_thread(controller.start)
    try:
        core = await start_core({"notify": {"email": _email_config(port)}})
        core.data["notify_contacts"] = {4: {"name": "钱七", "email": "qian@example.com\r\nBcc: victim@example.com"}}.get
        data = {"target": "staff@example.com", "subject": "账单", "message": "正文", **bad}
        with pytest.raises(ServiceValidationError, match="subject|target|e-mail|email"):
            await core.services.async_call("notify", "email", {k: v for k, v in data.items() if v is not None})
        outbox = core.data["notify"].outbox
        assert await outbox.async_recent(10, "email", None) == []
        sent = await core.services.async_call(
            "notify", "email", {"target": "staff@example.com", "subject": "账单", "message": "正文"})
        async with asyncio.timeout(10):
            while (row := await outbox.async_get(sent["ids"][0])).status != STATUS_SENT:
                await asyncio.sleep(0.05)
    finally:
        await asyncio.to_thread(controller.stop)
    assert [m["Subject"] for m in mailbox.messages] == ["账单"] and row.attempts == 0
    assert [e.rcpt_tos for e in mailbox.envelopes] == [["staff@example.com"]]
