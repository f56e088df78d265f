"""The registered top-up providers as the tenant pages and the kiosk show them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from integrations.topup.provider import TopUpProvider


@dataclass(frozen=True, slots=True)
class Offer:
    """One provider on a page: its form value, its name and the kiosk's QR prompt in the page's language."""

    name: str
    label: str
    scan_prompt: str | None

    @classmethod
    def of(cls, provider: TopUpProvider, language: str) -> Offer:
        """Return ``provider`` in ``language`` (its name, no prompt, where it has no text in it)."""
        label = provider.labels.get(language, provider.name)
        return cls(provider.name, label, provider.scan_prompts.get(language))
