"""Run traces: what triggered a run, how each condition went and what each action did."""
from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from ..core import Event, State


def to_json(value: Any) -> Any:
    """Turn states, events, dates and nested data into JSON-friendly values."""
    if isinstance(value, (State, Event)):
        return value.as_dict()
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Mapping):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [to_json(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


@dataclass
class Trace:
    """One run of one automation."""

    automation_id: str
    trigger: dict[str, Any]
    started: float
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    finished: float | None = None
    state: str = "running"
    result: str | None = None
    error: str | None = None
    conditions: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)

    def add_condition(self, path: str, kind: str, result: bool, error: str | None = None) -> None:
        """Record one condition's outcome."""
        entry: dict[str, Any] = {"path": path, "condition": kind, "result": result}
        if error:
            entry["error"] = error
        self.conditions.append(entry)

    def add_action(self, path: str, kind: str, at: float, **details: Any) -> dict[str, Any]:
        """Record one action; return the entry so its outcome can be filled in."""
        entry: dict[str, Any] = {"path": path, "action": kind, "started": at, **details}
        self.actions.append(entry)
        return entry

    def finish(self, at: float, result: str, error: str | None = None) -> None:
        """Close the trace with how the run ended."""
        self.finished = at
        self.state = "stopped"
        self.result = result
        self.error = error

    def as_dict(self) -> dict[str, Any]:
        """Return the trace as JSON-friendly data."""
        return to_json(
            {
                "run_id": self.run_id,
                "automation_id": self.automation_id,
                "state": self.state,
                "result": self.result,
                "error": self.error,
                "started": self.started,
                "finished": self.finished,
                "trigger": self.trigger,
                "conditions": self.conditions,
                "actions": self.actions,
            }
        )


class TraceStore:
    """Keep the last ``size`` traces of one automation in memory."""

    def __init__(self, size: int) -> None:
        self._traces: deque[Trace] = deque(maxlen=size)

    def add(self, trace: Trace) -> None:
        """Remember ``trace`` (the oldest falls out)."""
        self._traces.append(trace)

    def get(self, run_id: str) -> Trace | None:
        """Return the trace of one run."""
        return next((t for t in self._traces if t.run_id == run_id), None)

    def all(self) -> list[Trace]:
        """Return the traces, newest first."""
        return list(reversed(self._traces))
