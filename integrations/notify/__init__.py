"""Notifications: ``notify.sms`` and ``notify.email`` through one persisted outbox with retry and rate limits.

A call renders its text (Jinja2: inline ``message`` or a ``template`` file), stores one outbox row per recipient and
returns {"ids": [...]}; workers send later, retry with exponential backoff, and resume after a restart.
``core.data["notify"]`` is the NotifyService (``outbox``, ``templates``) for other parts.
"""
from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from email.utils import parseaddr
from typing import TYPE_CHECKING, Any

import voluptuous as vol

from scada_core.const import LANGUAGES
from scada_core.exceptions import ServiceValidationError
from scada_core.params import coerce_id

from .const import (
    ATTR_ACCOUNT_ID,
    ATTR_DATA,
    ATTR_LANGUAGE,
    ATTR_MESSAGE,
    ATTR_SECRET,
    ATTR_SUBJECT,
    ATTR_TARGET,
    ATTR_TEMPLATE,
    CHANNEL_EMAIL,
    CHANNEL_SMS,
    CONF_CA_FILE,
    CONF_EMAIL,
    CONF_EXPIRE_AFTER,
    CONF_HOST,
    CONF_KEEP_DAYS,
    CONF_MAX_ATTEMPTS,
    CONF_PASSWORD,
    CONF_PORT,
    CONF_RATE_PER_MINUTE,
    CONF_RETRY_BASE,
    CONF_RETRY_MAX,
    CONF_SECURITY,
    CONF_SENDER,
    CONF_SMS,
    CONF_TIMEOUT,
    CONF_USERNAME,
    DEFAULT_EMAIL_EXPIRE,
    DEFAULT_EMAIL_RATE,
    DEFAULT_KEEP_DAYS,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_RETRY_BASE,
    DEFAULT_RETRY_MAX,
    DEFAULT_SMS_EXPIRE,
    DEFAULT_SMS_RATE,
    DEFAULT_SMTP_TIMEOUT,
    DOMAIN,
    PURGE_INTERVAL,
    SECURITY_NONE,
    SECURITY_SSL,
    SECURITY_STARTTLS,
    SERVICE_EMAIL,
    SERVICE_SMS,
)
from .api import OutboxView
from .contacts import async_consents, async_resolve_contact
from .metrics import NotifyMetrics
from .outbox import Outbox
from .smtp import EmailChannel
from .templates import Templates, split_subject
from .worker import ChannelWorker

if TYPE_CHECKING:
    from scada_core.core import Core, ServiceCall
    from scada_core.validation import ConfigContext

_LOGGER = logging.getLogger(__name__)

PHONE = vol.Match(r"^\+?[0-9]{3,20}\Z", msg="expected a phone number such as +8613800100500")
EMAIL = vol.Match(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\Z", msg="expected an e-mail address")
# A header value is one line: CR/LF would end the header (injecting others), so refuse every control character.
SUBJECT = vol.Match(r"^[^\x00-\x1f\x7f]*\Z", msg="expected one line of text (no line breaks or control characters)")


def _retry_schema(rate: float, expire: float) -> dict[Any, Any]:
    return {
        vol.Optional(CONF_RATE_PER_MINUTE, default=rate): vol.All(vol.Coerce(float), vol.Range(min=0.1)),
        vol.Optional(CONF_EXPIRE_AFTER, default=expire): vol.All(vol.Coerce(float), vol.Range(min=0)),
        vol.Optional(CONF_MAX_ATTEMPTS, default=DEFAULT_MAX_ATTEMPTS): vol.All(int, vol.Range(min=1)),
        vol.Optional(CONF_RETRY_BASE, default=DEFAULT_RETRY_BASE): vol.All(vol.Coerce(float), vol.Range(min=0.01)),
        vol.Optional(CONF_RETRY_MAX, default=DEFAULT_RETRY_MAX): vol.All(vol.Coerce(float), vol.Range(min=0.01)),
    }


SMS_SCHEMA = vol.Schema(_retry_schema(DEFAULT_SMS_RATE, DEFAULT_SMS_EXPIRE))
EMAIL_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_HOST): str,
        vol.Optional(CONF_PORT): vol.All(int, vol.Range(min=1, max=65535)),
        vol.Optional(CONF_SECURITY, default=SECURITY_STARTTLS): vol.In([SECURITY_STARTTLS, SECURITY_SSL, SECURITY_NONE]),
        vol.Optional(CONF_USERNAME): str,
        vol.Optional(CONF_PASSWORD): str,
        vol.Required(CONF_SENDER): str,
        vol.Optional(CONF_CA_FILE): str,  # relative to the configuration directory
        vol.Optional(CONF_TIMEOUT, default=DEFAULT_SMTP_TIMEOUT): vol.All(vol.Coerce(float), vol.Range(min=0.1)),
        **_retry_schema(DEFAULT_EMAIL_RATE, DEFAULT_EMAIL_EXPIRE),
    }
)
CONFIG_SCHEMA = vol.Schema(
    {
        DOMAIN: vol.Schema(
            {
                vol.Optional(CONF_SMS, default={}): SMS_SCHEMA,
                vol.Optional(CONF_EMAIL): EMAIL_SCHEMA,
                vol.Optional(CONF_KEEP_DAYS, default=DEFAULT_KEEP_DAYS): vol.All(int, vol.Range(min=1)),
            }
        )
    },
    extra=vol.ALLOW_EXTRA,
)

ACCOUNT_TARGET = vol.Schema({vol.Required(ATTR_ACCOUNT_ID): coerce_id})


def _text_fields(subject: bool) -> dict[Any, Any]:
    fields: dict[Any, Any] = {
        vol.Exclusive(ATTR_MESSAGE, "text"): str,
        vol.Exclusive(ATTR_TEMPLATE, "text"): str,
        vol.Optional(ATTR_DATA, default={}): dict,
        vol.Optional(ATTR_LANGUAGE): vol.In(LANGUAGES),
    }
    if subject:
        fields[vol.Optional(ATTR_SUBJECT)] = vol.All(str, SUBJECT)
    return fields


def _checked(validator: vol.Match, value: Any, what: str) -> str:
    """Return ``value`` if ``validator`` accepts it (a header built from a template or a contact), else refuse."""
    try:
        return str(validator(value))
    except vol.Invalid as err:
        raise ServiceValidationError(f"{DOMAIN}: {what}: {err.msg}") from None


def _ensure_list(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else value


SMS_SERVICE_SCHEMA = vol.Schema(
    {vol.Required(ATTR_TARGET): vol.Any(ACCOUNT_TARGET, vol.All(_ensure_list, [PHONE], vol.Length(min=1))),
     vol.Optional(ATTR_SECRET): vol.All(str, vol.Length(min=4, max=64)),
     **_text_fields(False)}
)
EMAIL_SERVICE_SCHEMA = vol.Schema(
    {vol.Required(ATTR_TARGET): vol.Any(ACCOUNT_TARGET, vol.All(_ensure_list, [EMAIL], vol.Length(min=1))),
     **_text_fields(True)}
)


@dataclass
class NotifyService:
    """What other parts use: the outbox and the templates."""

    outbox: Outbox
    templates: Templates


def validate_config(context: ConfigContext, config: dict[str, Any]) -> None:
    """Refuse a CA file that is not there or holds no certificate."""
    ca_file = (config.get(CONF_EMAIL) or {}).get(CONF_CA_FILE)
    if not ca_file:
        return
    path = [DOMAIN, CONF_EMAIL, CONF_CA_FILE]
    if not context.path(ca_file).is_file():
        context.require_file(path, ca_file)
        return
    try:
        ssl.create_default_context(cafile=str(context.path(ca_file)))
    except (ssl.SSLError, ValueError) as err:
        context.error(path, f"{ca_file} holds no usable PEM certificate: {err}")


async def async_setup(core: Core, config: dict[str, Any]) -> bool:
    """Register notify.sms / notify.email and start one outbox worker per configured channel."""
    if core.db is None:
        _LOGGER.error("notify needs the database (its outbox is persisted)")
        return False
    outbox = Outbox(core.db, core.clock.timestamp)
    templates = Templates(core.config.config_dir, core.config.language)
    core.data[DOMAIN] = NotifyService(outbox, templates)
    core.metrics.register(NotifyMetrics(core.bus, outbox).collect)
    workers: list[ChannelWorker] = []

    modem = core.data.get("sms_modem")
    if modem is not None:
        from .sms import SmsChannel  # noqa: PLC0415 - only when the modem integration is there

        workers.append(ChannelWorker(core, outbox, SmsChannel(outbox, modem), config[CONF_SMS]))
        core.bus.async_listen("sms_delivery_report", _delivery_listener(outbox))
    else:
        _LOGGER.warning("No sms_modem configured: notify.sms stores messages until one is")
    email_config = config.get(CONF_EMAIL)
    if email_config is not None:
        if email_config.get(CONF_CA_FILE):
            email_config = {**email_config, CONF_CA_FILE: str(core.config.path(email_config[CONF_CA_FILE]))}
        workers.append(ChannelWorker(core, outbox, EmailChannel(outbox, email_config), email_config))

    async def render(call: ServiceCall, channel: str, extra: dict[str, Any]) -> str:
        data = {"site": core.config.name, **call.data[ATTR_DATA], **extra}
        if ATTR_MESSAGE in call.data:
            return templates.render_string(call.data[ATTR_MESSAGE], data)
        if ATTR_TEMPLATE in call.data:
            return templates.render_file(channel, call.data[ATTR_TEMPLATE], data, call.data.get(ATTR_LANGUAGE))
        raise ServiceValidationError(f"{DOMAIN}.{channel}: give either message or template")

    async def targets_of(call: ServiceCall, field: str) -> tuple[list[str], str | None, dict[str, Any]]:
        target = call.data[ATTR_TARGET]
        if isinstance(target, dict):
            account_id = target[ATTR_ACCOUNT_ID]
            if not await async_consents(core, account_id, CHANNEL_SMS if field == "phone" else CHANNEL_EMAIL):
                return [], str(account_id), {}  # declined by the account's holder: nothing is sent
            contact = await async_resolve_contact(core, account_id, field)
            address = _checked(PHONE if field == "phone" else EMAIL, contact[field], f"account {account_id}'s {field}")
            return [address], str(account_id), {"tenant": contact.get("name"), "account_id": account_id}
        return list(target), None, {}

    async def handle_sms(call: ServiceCall) -> dict[str, Any]:
        targets, account_id, extra = await targets_of(call, "phone")
        body = await render(call, CHANNEL_SMS, extra)
        secret = call.data.get(ATTR_SECRET)
        if secret is not None and secret not in body:
            raise ServiceValidationError(f"{DOMAIN}.{SERVICE_SMS}: the secret does not appear in the message")
        ids = await outbox.async_enqueue(CHANNEL_SMS, targets, body, account_id=account_id, secret=secret)
        return {"ids": ids}

    async def handle_email(call: ServiceCall) -> dict[str, Any]:
        if email_config is None:
            raise ServiceValidationError("notify.email: no e-mail server configured (notify: email: host: ...)")
        targets, account_id, extra = await targets_of(call, "email")
        subject, body = split_subject(await render(call, CHANNEL_EMAIL, extra))
        subject = call.data.get(ATTR_SUBJECT) or subject
        if not subject:
            raise ServiceValidationError("notify.email: give a subject (or a template starting with 'Subject: ...')")
        subject = _checked(SUBJECT, subject, "subject")  # a template's first line may carry a variable's CR
        domain = parseaddr(email_config[CONF_SENDER])[1].rpartition("@")[2] or "openprepay.local"
        return {
            "ids": await outbox.async_enqueue(
                CHANNEL_EMAIL, targets, body, subject=subject, account_id=account_id, domain=domain
            )
        }

    core.services.async_register(DOMAIN, SERVICE_SMS, handle_sms, SMS_SERVICE_SCHEMA, "send an SMS (stored, then sent)")
    core.services.async_register(
        DOMAIN, SERVICE_EMAIL, handle_email, EMAIL_SERVICE_SCHEMA, "send an e-mail (stored, then sent)"
    )
    if core.http is not None:
        core.http.register_view(OutboxView(core))
    for worker in workers:
        worker.async_start()
        core.async_on_stop(worker.async_stop)
    core.async_create_task(_purge_forever(outbox, config[CONF_KEEP_DAYS]), "notify outbox purge")
    return True


async def _purge_forever(outbox: Outbox, keep_days: int) -> None:
    """Purge old sent and failed messages at start-up and once a day."""
    while True:
        try:
            if purged := await outbox.async_purge(keep_days):
                _LOGGER.info("Purged %d sent or failed messages older than %d days", purged, keep_days)
        except Exception:  # noqa: BLE001 - the database may be briefly away; try again tomorrow
            _LOGGER.exception("Outbox purge failed")
        await asyncio.sleep(PURGE_INTERVAL)


def _delivery_listener(outbox: Outbox) -> Any:
    async def on_report(event: Any) -> None:
        row_id = await outbox.async_delivery_report(event.data["mr"], event.data["recipient"], event.data["outcome"])
        _LOGGER.debug("Delivery report mr=%s -> outbox #%s: %s", event.data["mr"], row_id, event.data["outcome"])

    return on_report
