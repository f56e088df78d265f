"""The core: event bus, state machine, service registry and task tracking."""
from __future__ import annotations

import asyncio
import enum
import functools
import itertools
import os
import inspect
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import voluptuous as vol

from .clock import Clock
from .collector import CollectorTuning
from .const import (
    ATTR_ENTITY_ID,
    DEFAULT_LANGUAGE,
    DEFAULT_TIME_ZONE,
    EVENT_CALL_SERVICE,
    EVENT_CORE_START,
    EVENT_CORE_STARTED,
    EVENT_CORE_STOP,
    EVENT_SERVICE_REGISTERED,
    EVENT_STATE_CHANGED,
    MATCH_ALL,
    MAX_LENGTH_STATE,
    STOP_TIMEOUT,
)
from .exceptions import EntityNotFound, ServiceNotFound, ServiceValidationError
from .metrics import Metrics

if TYPE_CHECKING:
    from .entity import Entity
    from .http import HttpServer
    from .recorder import Recorder
    from .storage.database import Database

_LOGGER = logging.getLogger(__name__)

VALID_ENTITY_ID = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+\Z")

CALLBACK_TYPE = Callable[[], None]
EventListener = Callable[["Event"], Awaitable[None] | None]
ServiceHandler = Callable[["ServiceCall"], Awaitable[dict[str, Any] | None] | dict[str, Any] | None]
ServiceRunner = Callable[["ServiceCall"], Awaitable[dict[str, Any] | None]]
# A guard sees every call of the services it guards; it refuses (raises) or runs the call through the runner.
ServiceGuard = Callable[["ServiceCall", ServiceRunner], Awaitable[dict[str, Any] | None]]


class CoreState(enum.Enum):
    """Where the core is in its life."""

    NOT_RUNNING = "not_running"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


def valid_entity_id(entity_id: str) -> bool:
    """Tell whether ``entity_id`` has the form domain.object_id."""
    return VALID_ENTITY_ID.match(entity_id) is not None


_CONTEXT_PREFIX = os.urandom(4).hex()
_CONTEXT_COUNTER = itertools.count(1)


def _new_context_id() -> str:
    """Return a process-unique, time-ordered id (cheaper than a UUID on the hot path)."""
    return f"{_CONTEXT_PREFIX}{next(_CONTEXT_COUNTER):012x}"


@dataclass(frozen=True, slots=True)
class Context:
    """Why something happened: who asked and what caused it."""

    id: str = field(default_factory=lambda: _new_context_id())
    user_id: str | None = None
    parent_id: str | None = None
    actor: str | None = None  # ACTOR_STAFF / ACTOR_TENANT / ACTOR_SYSTEM; None counts as the system


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened, fired on the bus."""

    event_type: str
    data: Mapping[str, Any]
    time_fired: float
    context: Context

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly form."""
        return {
            "event_type": self.event_type,
            "data": dict(self.data),
            "time_fired": self.time_fired,
            "context": {"id": self.context.id, "user_id": self.context.user_id},
        }


class EventBus:
    """Deliver events to listeners; a failing listener never reaches the firer.

    A listener is a plain function (called at once) or a coroutine function (run as a tracked task);
    which one is decided when it subscribes, not at each event.
    """

    def __init__(self, core: Core) -> None:
        self._core = core
        self._listeners: dict[str, list[tuple[EventListener, bool]]] = {}

    def async_listen(self, event_type: str, listener: EventListener) -> CALLBACK_TYPE:
        """Call ``listener`` for each event of ``event_type`` (or MATCH_ALL); return the remover."""
        entry = (listener, _is_coroutine_function(listener))
        self._listeners.setdefault(event_type, []).append(entry)

        def remove() -> None:
            listeners = self._listeners.get(event_type, [])
            if entry in listeners:
                listeners.remove(entry)

        return remove

    def async_listen_once(self, event_type: str, listener: EventListener) -> CALLBACK_TYPE:
        """Call ``listener`` for the next event of ``event_type`` only."""
        remove: CALLBACK_TYPE
        is_async = _is_coroutine_function(listener)

        def once(event: Event) -> None:
            remove()
            if is_async:
                self._core.async_create_task(_guard(listener(event), event_type), f"listener {event_type}")  # type: ignore[arg-type]
            else:
                listener(event)

        remove = self.async_listen(event_type, once)
        return remove

    def listener_count(self, event_type: str) -> int:
        """Return how many listeners wait for ``event_type``."""
        return len(self._listeners.get(event_type, ()))

    def async_fire(
        self, event_type: str, data: Mapping[str, Any] | None = None, context: Context | None = None
    ) -> Event:
        """Fire an event: sync listeners run now, coroutine listeners as tracked tasks."""
        event = Event(event_type, data or {}, self._core.clock.timestamp(), context or Context())
        targets = self._listeners.get(event_type, [])
        if MATCH_ALL in self._listeners:
            targets = targets + self._listeners[MATCH_ALL]
        for listener, is_async in tuple(targets):
            if is_async:
                self._core.async_create_task(_guard(listener(event), event_type), f"listener {event_type}")  # type: ignore[arg-type]
                continue
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - a listener's bug must not stop the firer
                _LOGGER.exception("Error in listener %s for %s", listener, event_type)
        return event


def _is_coroutine_function(func: Callable[..., Any]) -> bool:
    """Tell whether calling ``func`` returns a coroutine (also through functools.partial)."""
    while isinstance(func, functools.partial):
        func = func.func
    return inspect.iscoroutinefunction(func)


async def _guard(awaitable: Awaitable[Any], what: str) -> None:
    """Await ``awaitable`` and log instead of raising."""
    try:
        await awaitable
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001
        _LOGGER.exception("Error in async listener for %s", what)


class ReadOnlyDict(dict[str, Any]):
    """A dict that refuses changes: a state's attributes, shared by every listener (JSON encoders take it as is)."""

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("state attributes are read-only; write a new state instead")

    __setitem__ = __delitem__ = _refuse  # type: ignore[assignment]
    clear = pop = popitem = setdefault = update = __ior__ = _refuse  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class State:
    """An entity's state at one moment."""

    entity_id: str
    state: str
    attributes: Mapping[str, Any]
    last_changed: float
    last_updated: float
    context: Context

    @property
    def domain(self) -> str:
        """Return the domain part of the entity id."""
        return self.entity_id.split(".", 1)[0]

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-friendly form."""
        return {
            "entity_id": self.entity_id,
            "state": self.state,
            "attributes": dict(self.attributes),
            "last_changed": self.last_changed,
            "last_updated": self.last_updated,
        }


class StateMachine:
    """Hold the current state of every entity and announce changes."""

    def __init__(self, core: Core) -> None:
        self._core = core
        self._states: dict[str, State] = {}

    def get(self, entity_id: str) -> State | None:
        """Return the state of ``entity_id`` or None."""
        return self._states.get(entity_id)

    def async_all(self, domain: str | None = None) -> list[State]:
        """Return every state, or those of one domain."""
        if domain is None:
            return list(self._states.values())
        prefix = f"{domain}."
        return [s for s in self._states.values() if s.entity_id.startswith(prefix)]

    def async_entity_ids(self, domain: str | None = None) -> list[str]:
        """Return every entity id, or those of one domain."""
        return [s.entity_id for s in self.async_all(domain)]

    def async_set(
        self,
        entity_id: str,
        new_state: str,
        attributes: Mapping[str, Any] | None = None,
        context: Context | None = None,
    ) -> bool:
        """Set a state; fire ``state_changed`` and return True only if something changed."""
        old = self._states.get(entity_id)
        if old is None and not valid_entity_id(entity_id):  # a known id was checked when first set
            raise ValueError(f"invalid entity id {entity_id!r}")
        new_state = str(new_state)
        if len(new_state) > MAX_LENGTH_STATE:
            raise ValueError(f"state of {entity_id} longer than {MAX_LENGTH_STATE} characters")
        attributes = ReadOnlyDict(attributes or {})
        if old is not None and old.state == new_state and old.attributes == attributes:
            return False
        now = self._core.clock.timestamp()
        last_changed = old.last_changed if old is not None and old.state == new_state else now
        state = State(
            entity_id, new_state, attributes, last_changed, now, context or Context()
        )
        self._states[entity_id] = state
        self._core.bus.async_fire(
            EVENT_STATE_CHANGED,
            {"entity_id": entity_id, "old_state": old, "new_state": state},
            state.context,
        )
        return True

    def async_remove(self, entity_id: str) -> bool:
        """Forget an entity's state; fire ``state_changed`` with no new state."""
        old = self._states.pop(entity_id, None)
        if old is None:
            return False
        self._core.bus.async_fire(
            EVENT_STATE_CHANGED, {"entity_id": entity_id, "old_state": old, "new_state": None}
        )
        return True


@dataclass(frozen=True, slots=True)
class ServiceCall:
    """A validated request to run a service."""

    domain: str
    service: str
    data: Mapping[str, Any]
    context: Context


@dataclass(slots=True)
class Service:
    """A registered service: handler plus the schema its data must pass."""

    handler: ServiceHandler
    schema: vol.Schema | None
    description: str = ""


class ServiceRegistry:
    """Map domain.service to handlers with voluptuous schemas."""

    def __init__(self, core: Core) -> None:
        self._core = core
        self._services: dict[str, dict[str, Service]] = {}
        self._guards: dict[tuple[str, str], ServiceGuard] = {}

    def async_register(
        self,
        domain: str,
        service: str,
        handler: ServiceHandler,
        schema: vol.Schema | None = None,
        description: str = "",
    ) -> None:
        """Register ``handler`` for domain.service."""
        self._services.setdefault(domain, {})[service] = Service(handler, schema, description)
        self._core.bus.async_fire(EVENT_SERVICE_REGISTERED, {"domain": domain, "service": service})

    def takes_operator(self, domain: str, service: str) -> bool:
        """Tell whether domain.service's schema has an ``operator`` field (billing's: who sells, refunds...)."""
        found = self._services.get(domain, {}).get(service)
        if found is None or found.schema is None or not isinstance(found.schema.schema, dict):
            return False
        return any(str(key) == "operator" for key in found.schema.schema)

    def async_register_entity_service(
        self,
        domain: str,
        service: str,
        schema: Mapping[Any, Any],
        method: str,
        description: str = "",
    ) -> None:
        """Register a service that calls ``method`` on each entity named by ``entity_id``."""
        full_schema = vol.Schema(
            {
                vol.Required(ATTR_ENTITY_ID): vol.All(
                    lambda v: [v] if isinstance(v, str) else v, [vol.Match(VALID_ENTITY_ID)]
                ),
                **schema,
            }
        )

        async def handle(call: ServiceCall) -> dict[str, Any]:
            data = {k: v for k, v in call.data.items() if k != ATTR_ENTITY_ID}
            results: dict[str, Any] = {}
            for entity_id in call.data[ATTR_ENTITY_ID]:
                entity = self._core.entities.get(entity_id)
                if entity is None or not entity_id.startswith(f"{domain}."):
                    raise EntityNotFound(f"{domain}.{service}: no entity {entity_id}")
                results[entity_id] = await getattr(entity, method)(**data)
            return {"results": results}

        self.async_register(domain, service, handle, full_schema, description)

    def async_set_guard(self, domain: str, service: str, guard: ServiceGuard) -> CALLBACK_TYPE:
        """Pass every call of domain.service (registered now or later; domain MATCH_ALL: that service of every
        domain without a guard of its own) through ``guard``; return the remover."""
        key = (domain, service)
        self._guards[key] = guard

        def remove() -> None:
            if self._guards.get(key) is guard:
                del self._guards[key]

        return remove

    def has_service(self, domain: str, service: str) -> bool:
        """Tell whether domain.service exists."""
        return service in self._services.get(domain, {})

    def async_services(self) -> dict[str, dict[str, Service]]:
        """Return every registered service by domain."""
        return {domain: dict(services) for domain, services in self._services.items()}

    def async_remove(self, domain: str, service: str) -> None:
        """Unregister domain.service."""
        self._services.get(domain, {}).pop(service, None)

    async def async_call(
        self,
        domain: str,
        service: str,
        data: Mapping[str, Any] | None = None,
        context: Context | None = None,
    ) -> dict[str, Any] | None:
        """Validate ``data``, run the service and return its response."""
        try:
            handler = self._services[domain][service]
        except KeyError:
            raise ServiceNotFound(domain, service) from None
        payload = dict(data or {})
        if handler.schema is not None:
            try:
                payload = handler.schema(payload)
            except vol.Invalid as err:
                raise ServiceValidationError(
                    f"invalid data for {domain}.{service}: {humanize_invalid(err)}"
                ) from None
        call = ServiceCall(domain, service, payload, context or Context())
        self._core.bus.async_fire(
            EVENT_CALL_SERVICE, {"domain": domain, "service": service, "service_data": payload}, call.context
        )
        guard = self._guards.get((domain, service)) or self._guards.get((MATCH_ALL, service))
        if guard is not None:
            return await guard(call, functools.partial(_run_handler, handler.handler))
        return await _run_handler(handler.handler, call)


async def _run_handler(handler: ServiceHandler, call: ServiceCall) -> dict[str, Any] | None:
    """Run a handler, sync or async."""
    result = handler(call)
    if inspect.isawaitable(result):
        result = await result
    return result


def humanize_invalid(err: vol.Invalid) -> str:
    """Return every error of ``err`` as 'path: message', joined."""
    errors = err.errors if isinstance(err, vol.MultipleInvalid) else [err]
    parts = []
    for error in errors:
        path = " -> ".join(str(p) for p in error.path)
        parts.append(f"{path}: {error.msg}" if path else error.msg)
    return "; ".join(parts)


@dataclass
class CoreConfig:
    """Settings of the core itself (the ``core:`` section)."""

    config_dir: Path
    name: str = "OpenPrepay"
    time_zone: str = DEFAULT_TIME_ZONE
    language: str = DEFAULT_LANGUAGE
    components: set[str] = field(default_factory=set)
    # Integrations the configuration names that did not set up: domain -> why.
    failed_components: dict[str, str] = field(default_factory=dict)

    def path(self, *parts: str) -> Path:
        """Return a path inside the configuration directory."""
        return self.config_dir.joinpath(*parts)


class Core:
    """Own the event loop's work: bus, states, services, entities and tasks."""

    def __init__(
        self, config_dir: Path | str, time_zone: str = DEFAULT_TIME_ZONE, *, tune_collector: bool = False
    ) -> None:
        """``tune_collector``: the process is this core's alone (``openprepay run``): tune its garbage collector."""
        self.config = CoreConfig(Path(config_dir), time_zone=time_zone)
        self.clock = Clock(time_zone)
        self.bus = EventBus(self)
        self.states = StateMachine(self)
        self.services = ServiceRegistry(self)
        self.entities: dict[str, Entity] = {}
        self.data: dict[str, Any] = {}
        self.metrics = Metrics()
        self.db: Database | None = None
        self.recorder: Recorder | None = None
        self.http: HttpServer | None = None
        self.state = CoreState.NOT_RUNNING
        self._tasks: set[asyncio.Task[Any]] = set()
        self._stop_callbacks: list[Callable[[], Awaitable[None] | None]] = []
        self._close_callbacks: list[Callable[[], Awaitable[None] | None]] = []
        self._stopped = asyncio.Event()
        self._collector = CollectorTuning() if tune_collector else None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """Return the running event loop."""
        return asyncio.get_running_loop()

    def set_time_zone(self, time_zone: str) -> None:
        """Switch the configured time zone."""
        self.config.time_zone = time_zone
        self.clock = Clock(time_zone)

    def async_create_task(self, coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
        """Start ``coro`` as a task the core tracks and cancels at stop."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _LOGGER.error("Task %s failed", task.get_name(), exc_info=task.exception())

    async def async_add_executor_job(self, func: Callable[..., Any], *args: Any) -> Any:
        """Run blocking ``func`` in a worker thread."""
        return await asyncio.get_running_loop().run_in_executor(None, func, *args)

    def async_on_stop(self, callback: Callable[[], Awaitable[None] | None]) -> None:
        """Run ``callback`` when the core stops (last registered runs first)."""
        self._stop_callbacks.append(callback)

    def async_on_close(self, callback: Callable[[], Awaitable[None] | None]) -> None:
        """Run ``callback`` at the very end of a stop, once no tracked task is left to need what it closes."""
        self._close_callbacks.append(callback)

    async def async_add_entities(self, entities: list[Entity]) -> None:
        """Attach entities to the core and write their first state."""
        for entity in entities:
            if entity.entity_id in self.entities:
                raise ValueError(f"entity {entity.entity_id} already exists")
            entity.core = self
            self.entities[entity.entity_id] = entity
        for entity in entities:
            await entity.async_added_to_core()
            entity.async_write_state()

    async def async_block_till_done(self) -> None:
        """Wait until every tracked task that exists now has finished."""
        while pending := [t for t in self._tasks if t is not asyncio.current_task() and not t.done()]:
            await asyncio.wait(pending)

    async def async_start(self) -> None:
        """Announce the start to integrations."""
        self.state = CoreState.STARTING
        self.bus.async_fire(EVENT_CORE_START)
        self.state = CoreState.RUNNING
        if self._collector is not None:
            self._collector.apply()
        self.bus.async_fire(EVENT_CORE_STARTED)

    async def async_stop(self) -> None:
        """Stop cleanly: stop callbacks in reverse order, then cancel leftover tasks."""
        if self.state in (CoreState.STOPPING, CoreState.STOPPED):
            await self._stopped.wait()
            return
        self.state = CoreState.STOPPING
        self.bus.async_fire(EVENT_CORE_STOP)
        await asyncio.sleep(0)  # let listeners of the stop event begin before anything is cancelled
        await self._run_callbacks(self._stop_callbacks)
        await asyncio.sleep(0)
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=STOP_TIMEOUT)
        await self._run_callbacks(self._close_callbacks)
        if self._collector is not None:
            self._collector.restore()
        self.state = CoreState.STOPPED
        self._stopped.set()

    @staticmethod
    async def _run_callbacks(callbacks: list[Callable[[], Awaitable[None] | None]]) -> None:
        """Run ``callbacks`` last registered first; one failing must not block the others."""
        for callback in reversed(callbacks):
            try:
                result = callback()
                if inspect.isawaitable(result):
                    await asyncio.wait_for(result, STOP_TIMEOUT)
            except Exception:  # noqa: BLE001 - one failing stop must not block the others
                _LOGGER.exception("Error while stopping %s", callback)

    async def async_wait_stopped(self) -> None:
        """Wait until the core has stopped."""
        await self._stopped.wait()
