"""Message catalogues of the dashboard: zh-CN (default) and en. A missing key shows itself (never a crash).

Each module of this package holds one area's ``MESSAGES`` ({key: (zh-CN, en)}); they are merged here, and a key
that two areas define is an error at import.
"""
from __future__ import annotations

import importlib
import pkgutil
from typing import Final

LANGUAGES: Final = ("zh-CN", "en")


def _merged() -> dict[str, tuple[str, str]]:
    """Return every area's messages in one table (refusing a key defined twice)."""
    merged: dict[str, tuple[str, str]] = {}
    for area in sorted(module.name for module in pkgutil.iter_modules(__path__)):
        messages: dict[str, tuple[str, str]] = importlib.import_module(f"{__name__}.{area}").MESSAGES
        if twice := merged.keys() & messages.keys():
            raise ImportError(f"web.i18n.{area} defines messages another area has: {sorted(twice)}")
        merged.update(messages)
    return merged


MESSAGES: Final = _merged()


class Catalogue(dict[str, str]):
    """A language's messages; an unknown key renders as itself."""

    def __missing__(self, key: str) -> str:
        return key


_CATALOGUES: Final = {
    language: Catalogue({key: pair[index] for key, pair in MESSAGES.items()}) for index, language in enumerate(LANGUAGES)
}


def texts(language: str) -> Catalogue:
    """Return the catalogue of ``language`` (zh-CN when unknown)."""
    return _CATALOGUES.get(language, _CATALOGUES[LANGUAGES[0]])
