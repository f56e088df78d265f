"""Message texts from Jinja2 templates in <config>/templates/{sms,email}/ (zh-CN default, en/ beside it)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, TemplateNotFound
from jinja2.sandbox import ImmutableSandboxedEnvironment

from scada_core.const import DEFAULT_LANGUAGE
from scada_core.exceptions import ServiceValidationError

from .const import SUBJECT_PREFIXES, TEMPLATE_SUFFIX, TEMPLATES_DIR


def yuan(fen: Any) -> str:
    """Format integer fen as yuan with two decimals (12345 -> '123.45')."""
    value = int(fen)
    sign = "-" if value < 0 else ""
    return f"{sign}{abs(value) // 100}.{abs(value) % 100:02d}"


class Templates:
    """Render message texts; a missing variable or template is a clear error for the caller."""

    def __init__(self, config_dir: Path, language: str = DEFAULT_LANGUAGE) -> None:
        self.language = language
        self.env = ImmutableSandboxedEnvironment(
            loader=FileSystemLoader(str(config_dir / TEMPLATES_DIR)),
            undefined=StrictUndefined,
            autoescape=False,
            trim_blocks=True,
        )
        self.env.filters["yuan"] = yuan

    def render_string(self, source: str, data: dict[str, Any]) -> str:
        """Render an inline template (the ``message`` of a service call)."""
        try:
            return self.env.from_string(source).render(**data).strip()
        except (TemplateError, TypeError, ValueError) as err:
            raise ServiceValidationError(f"message template: {err}") from err

    def render_file(self, channel: str, name: str, data: dict[str, Any], language: str | None = None) -> str:
        """Render templates/<channel>/[<language>/]<name>.txt; the default language has no sub-folder."""
        file = name if name.endswith(TEMPLATE_SUFFIX) else name + TEMPLATE_SUFFIX
        language = language or self.language
        candidates = [f"{channel}/{file}"]
        if language != DEFAULT_LANGUAGE:
            candidates.insert(0, f"{channel}/{language}/{file}")
        try:
            template = self.env.select_template(candidates)
        except TemplateNotFound:
            raise ServiceValidationError(f"no template {' or '.join(candidates)} in {TEMPLATES_DIR}/") from None
        try:
            return template.render(**data).strip()
        except (TemplateError, TypeError, ValueError) as err:
            raise ServiceValidationError(f"template {template.name}: {err}") from err


def split_subject(text: str) -> tuple[str | None, str]:
    """Split a first line 'Subject: …' (or '主题：…') off an e-mail text."""
    first, _, rest = text.partition("\n")
    for prefix in SUBJECT_PREFIXES:
        if first.startswith(prefix):
            return first[len(prefix) :].strip(), rest.strip()
    return None, text
