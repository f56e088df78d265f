"""Base class of every entity: a meter, a bus, a gateway, a modem."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .const import ATTR_FRIENDLY_NAME, ATTR_UNIT, STATE_UNAVAILABLE, STATE_UNKNOWN

if TYPE_CHECKING:
    from .core import Core


class Entity:
    """Something with a state; subclasses set the ``_attr_*`` fields and call async_write_state."""

    entity_id: str
    core: Core | None = None
    _attr_unique_id: str | None = None
    _attr_name: str | None = None
    _attr_available: bool = True
    _attr_state: Any = None
    _attr_unit: str | None = None
    _attr_extra_state_attributes: Mapping[str, Any] | None = None

    def __init__(self) -> None:
        self._on_remove: list[Callable[[], None]] = []

    @property
    def unique_id(self) -> str | None:
        """Return an id that survives renames."""
        return self._attr_unique_id

    @property
    def name(self) -> str | None:
        """Return the human name."""
        return self._attr_name

    @property
    def available(self) -> bool:
        """Tell whether the entity can be reached."""
        return self._attr_available

    @property
    def state(self) -> Any:
        """Return the state value."""
        return self._attr_state

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """Return attributes beyond the state."""
        return self._attr_extra_state_attributes

    def state_attributes(self) -> dict[str, Any]:
        """Return every attribute written with the state."""
        attributes: dict[str, Any] = {}
        if self.available and self.extra_state_attributes:
            attributes.update(self.extra_state_attributes)
        if self.name:
            attributes[ATTR_FRIENDLY_NAME] = self.name
        if self._attr_unit:
            attributes[ATTR_UNIT] = self._attr_unit
        return attributes

    def async_write_state(self) -> bool:
        """Write state and attributes to the state machine; True if they changed."""
        if self.core is None:
            raise RuntimeError(f"{self.entity_id} is not added to a core")
        if not self.available:
            value = STATE_UNAVAILABLE
        elif (state := self.state) is None:
            value = STATE_UNKNOWN
        else:
            value = str(state)
        return self.core.states.async_set(self.entity_id, value, self.state_attributes())

    def async_on_remove(self, remover: Callable[[], None]) -> None:
        """Run ``remover`` when the entity is removed."""
        self._on_remove.append(remover)

    async def async_added_to_core(self) -> None:
        """Subscribe or restore once added (hook for subclasses)."""

    async def async_remove(self) -> None:
        """Detach from the core."""
        for remover in self._on_remove:
            remover()
        self._on_remove.clear()
        if self.core is not None:
            self.core.entities.pop(self.entity_id, None)
            self.core.states.async_remove(self.entity_id)
