"""What a meter is: the capability an entity publishes, one rule for every part (never its domain).

A meter entity publishes the attribute ``billing``: ``meter`` when the meter holds the money itself (a prepaid
meter, billing delivers sales to it), ``server`` when billing charges its readings to the account's wallet. A new
meter integration needs nothing else to appear in the grid, the reports and billing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from .core import State, StateMachine

ATTR_BILLING: Final = "billing"
MODE_METER: Final = "meter"
MODE_SERVER: Final = "server"
MODES: Final = (MODE_METER, MODE_SERVER)


def billing_mode(state: State | None) -> str | None:
    """Return how the entity is billed (meter-side or server-side), or None when it is not a meter."""
    if state is None:
        return None
    mode = state.attributes.get(ATTR_BILLING)
    return str(mode) if mode in MODES else None


def is_meter(state: State | None) -> bool:
    """Tell whether the entity is a meter."""
    return billing_mode(state) is not None


def meter_states(states: StateMachine) -> list[State]:
    """Return the state of every meter, by entity id."""
    return sorted((s for s in states.async_all() if is_meter(s)), key=lambda s: s.entity_id)
