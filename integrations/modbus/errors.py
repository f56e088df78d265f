"""Errors of the field layer: what went wrong on the wire, and why a command failed."""
from __future__ import annotations

from scada_core.exceptions import OpenPrepayError


class FieldError(Exception):
    """A request on a bus did not give a usable answer (transient; may be retried)."""


class BusOfflineError(FieldError):
    """The bus connection (serial port, serial server, gateway) is down."""


class RequestTimeoutError(FieldError):
    """The meter did not answer within the timeout."""


class CrcError(FieldError):
    """Bytes came back but never formed a valid frame (CRC or framing error)."""


# Exception codes that say "try again later": acknowledge, busy, gateway path / target not answering.
TRANSIENT_EXCEPTION_CODES = (0x05, 0x06, 0x0A, 0x0B)
# Exception codes that say "this meter has no such function or register": illegal function, illegal address.
UNSUPPORTED_EXCEPTION_CODES = (0x01, 0x02)


class ExceptionCodeError(FieldError):
    """The meter answered with a Modbus exception code."""

    def __init__(self, function_code: int, exception_code: int) -> None:
        super().__init__(f"function 0x{function_code:02X} answered with exception code {exception_code}")
        self.function_code = function_code
        self.exception_code = exception_code

    @property
    def transient(self) -> bool:
        """Tell whether retrying may help (busy, gateway not answering) or the meter refuses for good."""
        return self.exception_code in TRANSIENT_EXCEPTION_CODES

    @property
    def unsupported(self) -> bool:
        """Tell whether the meter says it has no such register or function."""
        return self.exception_code in UNSUPPORTED_EXCEPTION_CODES


class MeterCommandError(OpenPrepayError):
    """A command on a meter failed for good; the message tells why."""


class CommandRejectedError(MeterCommandError):
    """The meter or the read-back refused the command (retrying cannot help)."""
