"""Control precedence, the one rule every relay command obeys: staff forced trip / hold > prepaid control > tenant.

Who holds a meter's relay: staff (a forced trip or hold by staff), prepaid (an arrears trip or a friendly-credit
hold by the system) or nobody. Staff may do anything; the system (automations, billing, friendly credit, load
limiting, unauthenticated API callers) anything but undo staff; a tenant may only close what staff do not hold,
and only while the meter's money is above zero.
"""

from __future__ import annotations

from typing import Final

from scada_core.const import ACTOR_STAFF, ACTOR_SYSTEM, ACTOR_TENANT
from scada_core.exceptions import ServiceRefused

from .errors import BillingError

HOLDER_NONE: Final = "none"
HOLDER_PREPAID: Final = "prepaid"
HOLDER_STAFF: Final = "staff"

ACTION_TRIP: Final = "trip"
ACTION_HOLD: Final = "hold"
ACTION_CLOSE: Final = "close"
ACTION_RELEASE: Final = "release"

# The relay services of every meter (whatever its integration) that pass the rule, and what each does.
RELAY_SERVICES: Final[dict[str, str]] = {
    "trip": ACTION_TRIP,
    "force_close": ACTION_HOLD,
    "hold": ACTION_HOLD,
    "close": ACTION_CLOSE,
    "release": ACTION_RELEASE,
    "restore_prepaid": ACTION_RELEASE,
}
# What a meter reports (prepaid_mode) when something forces its relay; with no record of ours, staff did it.
FORCED_MODES: Final = ("forced_off", "hold")
RELEASED_MODE: Final = "normal"

HOLDER_LABELS: Final[dict[str, tuple[str, str]]] = {
    HOLDER_NONE: ("无（余额决定）", "none (the balance decides)"),
    HOLDER_PREPAID: ("预付费控制", "prepaid control"),
    HOLDER_STAFF: ("物业人员", "building staff"),
}


class ControlRefused(BillingError, ServiceRefused):
    """A relay command the control precedence refuses (HTTP 409)."""


def effective_holder(recorded: str | None, prepaid_mode: str | None) -> str:
    """Return who holds the relay: our record, else staff when the meter reports forced control, else nobody."""
    if recorded in (HOLDER_STAFF, HOLDER_PREPAID):
        return recorded
    return HOLDER_STAFF if prepaid_mode in FORCED_MODES else HOLDER_NONE


def decide(holder: str, actor: str | None, action: str, balance_fen: int | None) -> str:
    """Return the holder after ``actor`` does ``action``; raise ControlRefused when precedence forbids it."""
    actor = actor or ACTOR_SYSTEM
    forcing = action in (ACTION_TRIP, ACTION_HOLD)
    if actor == ACTOR_STAFF:
        return HOLDER_STAFF if forcing else HOLDER_NONE
    if holder == HOLDER_STAFF:
        raise ControlRefused(
            "物业已强制控制此表（强制拉闸或保电），只有物业人员可以解除",
            "building staff hold this meter (forced off or hold); only staff can change it",
        )
    if actor == ACTOR_TENANT:
        if action != ACTION_CLOSE:
            raise ControlRefused("租户只能远程合闸", "a tenant may only close the relay")
        if balance_fen is None or balance_fen <= 0:
            raise ControlRefused("余额须大于零才能合闸", "the money must be above zero to close the relay")
    return HOLDER_PREPAID if forcing else HOLDER_NONE
