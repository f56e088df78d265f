"""The SMS channel: stored messages go out through the sms_modem integration, part by part."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from integrations.sms_modem.errors import CmsError, ModemNotReady, SendUnconfirmed
from integrations.sms_modem.pdu import PduError

from .const import CHANNEL_SMS
from .models import OutboxRow
from .outbox import Outbox
from .worker import NotReady, PermanentError

if TYPE_CHECKING:
    from integrations.sms_modem.modem import SmsModem

_LOGGER = logging.getLogger(__name__)


class SmsChannel:
    """Send SMS through one modem; each accepted part is committed before the next is sent."""

    name = CHANNEL_SMS

    def __init__(self, outbox: Outbox, modem: SmsModem) -> None:
        self.outbox = outbox
        self.modem = modem

    async def async_wait_ready(self) -> None:
        """Wait until the modem is online and registered."""
        await self.modem.async_wait_ready()

    def queue_changed(self, length: int) -> None:
        """Show the queue length on the modem entity."""
        self.modem.set_queue_length(length)

    def abort(self) -> None:
        """Stop waiting for the network: a part already written is then recorded unconfirmed, not lost to a resend."""
        self.modem.abort_send()

    async def async_deliver(self, row: OutboxRow) -> None:
        """Send the parts not yet accepted; record each message reference the moment +CMGS returns."""
        try:
            pdus = self.modem.encode(row.target, row.text, row.concat_ref)
        except PduError as err:
            raise PermanentError(str(err)) from err
        for pdu in pdus[row.parts_sent :]:
            try:
                reference = await self.modem.async_send_pdu(pdu)
            except ModemNotReady as err:
                raise NotReady(str(err)) from err
            except SendUnconfirmed as err:
                # The network may have it: a duplicate costs the tenant's trust, a lost part does not; go on.
                _LOGGER.warning("SMS #%s part %d/%d to %s unconfirmed, not resent: %s",
                                row.id, pdu.part, pdu.parts, row.target, err)
                await self.outbox.async_part_sent(row.id, pdu.part, pdu.parts, None, str(err))
                continue
            except CmsError as err:
                if not err.retryable:
                    raise PermanentError(str(err)) from err
                raise
            await self.outbox.async_part_sent(row.id, pdu.part, pdu.parts, reference)
