"""The meter port: how billing reaches meters (their services and published states), never a driver module."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import voluptuous as vol

from scada_core.const import ATTR_ENTITY_ID
from scada_core.core import humanize_invalid

from .errors import BillingError

if TYPE_CHECKING:
    from scada_core.core import Context, ServiceRegistry, State, StateMachine


class MeterPort:
    """Call a meter's services (with a timeout) and read the states meters publish."""

    def __init__(self, services: ServiceRegistry, states: StateMachine, timeout: float) -> None:
        self.services = services
        self.states = states
        self.timeout = timeout

    def state(self, entity_id: str) -> State | None:
        """Return the state a meter publishes, if any."""
        return self.states.get(entity_id)

    async def call(
        self, entity_id: str, service: str, data: dict[str, Any] | None = None, context: Context | None = None
    ) -> dict[str, Any]:
        """Call an entity service of the meter's domain (as ``context``'s actor) and return this meter's result."""
        domain = entity_id.split(".", 1)[0]
        try:
            async with asyncio.timeout(self.timeout):
                response = await self.services.async_call(
                    domain, service, {"entity_id": entity_id, **(data or {})}, context
                )
        except TimeoutError:
            raise BillingError(
                f"表计 {entity_id} 在 {self.timeout:g} 秒内没有应答",
                f"meter {entity_id} did not answer within {self.timeout:g} s",
            ) from None
        return dict((response or {}).get("results", {}).get(entity_id) or {})

    def refusal(self, entity_id: str, service: str, data: Mapping[str, Any]) -> str | None:
        """Return why the meter's ``service`` would refuse ``data`` (its schema, checked before billing
        stores a setting it could never push), or None."""
        registered = self.services.async_services().get(entity_id.split(".", 1)[0], {}).get(service)
        if registered is None or registered.schema is None:
            return None
        try:
            registered.schema({ATTR_ENTITY_ID: entity_id, **data})
        except vol.Invalid as err:
            return f"{entity_id}: {humanize_invalid(err)}"
        return None
