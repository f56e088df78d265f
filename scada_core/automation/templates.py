"""Jinja2 templates in a sandbox, with states(), is_state(), state_attr() and now()."""
from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import voluptuous as vol
from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from ..const import STATE_UNKNOWN
from ..exceptions import OpenPrepayError

if TYPE_CHECKING:
    from ..core import Core

_SINGLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.DOTALL)


class TemplateRenderError(OpenPrepayError):
    """A template could not be rendered; the message says why."""


def fen_to_yuan(value: Any) -> str:
    """Format integer fen as yuan with two decimals ('1234' -> '12.34')."""
    if value is None:
        return ""
    return f"{Decimal(int(value)) / 100:.2f}"


_SYNTAX_ENV = SandboxedEnvironment()


def template_syntax(value: Any) -> Any:
    """Voluptuous validator: every template inside ``value`` must parse."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            try:
                template_syntax(item)
            except vol.Invalid as err:
                err.prepend([key])
                raise
    elif isinstance(value, list):
        for index, item in enumerate(value):
            try:
                template_syntax(item)
            except vol.Invalid as err:
                err.prepend([index])
                raise
    elif is_template(value):
        try:
            _SYNTAX_ENV.parse(value)
        except TemplateError as err:
            raise vol.Invalid(f"invalid template: {err}") from None
    return value


def timestamp_local(value: Any, time_zone: tzinfo) -> str:
    """Format POSIX seconds as local 'YYYY-MM-DD HH:MM:SS'."""
    if value is None:
        return ""
    return datetime.fromtimestamp(float(value), time_zone).strftime("%Y-%m-%d %H:%M:%S")


def is_template(value: Any) -> bool:
    """Tell whether a string holds Jinja2 markup."""
    return isinstance(value, str) and ("{{" in value or "{%" in value)


class TemplateRenderer:
    """Render strings and nested data against the live state of the core."""

    def __init__(self, core: Core) -> None:
        self._core = core
        env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
        env.globals.update(
            states=self._states,
            is_state=self._is_state,
            state_attr=self._state_attr,
            now=lambda: core.clock.now(),
            utcnow=lambda: core.clock.utcnow(),
        )
        env.filters["yuan"] = fen_to_yuan
        env.filters["timestamp_local"] = lambda value: timestamp_local(value, core.clock.time_zone)
        self.env = env

    def _states(self, entity_id: str) -> str:
        state = self._core.states.get(entity_id)
        return state.state if state is not None else STATE_UNKNOWN

    def _is_state(self, entity_id: str, value: Any) -> bool:
        state = self._core.states.get(entity_id)
        values = value if isinstance(value, (list, tuple)) else [value]
        return state is not None and state.state in [str(v) for v in values]

    def _state_attr(self, entity_id: str, attribute: str) -> Any:
        state = self._core.states.get(entity_id)
        return state.attributes.get(attribute) if state is not None else None

    def render(self, value: Any, variables: Mapping[str, Any]) -> Any:
        """Render ``value``: strings with markup are rendered, dicts and lists recursively.

        A string that is exactly one ``{{ expression }}`` keeps the expression's native type.
        """
        if isinstance(value, Mapping):
            return {key: self.render(item, variables) for key, item in value.items()}
        if isinstance(value, list):
            return [self.render(item, variables) for item in value]
        if not is_template(value):
            return value
        try:
            match = _SINGLE_EXPRESSION.match(value)
            if match is not None and "{%" not in value:
                return self.env.compile_expression(match["expr"], undefined_to_none=False)(**variables)
            return self.env.from_string(value).render(**variables)
        except TemplateError as err:
            raise TemplateRenderError(f"template {value!r}: {err}") from None
        except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as err:
            raise TemplateRenderError(f"template {value!r}: {type(err).__name__}: {err}") from None
