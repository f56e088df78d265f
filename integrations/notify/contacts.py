"""Find the phone and e-mail of an account: billing first, then the ``notify_contacts`` hook.

Billing (``core.data["billing"]``) is asked through ``await billing.get_account(account_id)`` when it offers that
method (a dict or an object with ``phone``, ``email``, ``name``). Any part may also set
``core.data["notify_contacts"] = lookup`` where ``lookup(account_id)`` returns (or resolves to) such a dict or None.
"""
from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from scada_core.exceptions import ServiceValidationError

from .const import CONTACTS_HOOK

if TYPE_CHECKING:
    from scada_core.core import Core

CONTACT_FIELDS = ("phone", "email", "name")


def _as_contact(found: Any) -> dict[str, Any] | None:
    if found is None:
        return None
    if isinstance(found, dict):
        return {key: found.get(key) for key in CONTACT_FIELDS}
    return {key: getattr(found, key, None) for key in CONTACT_FIELDS}


async def async_resolve_contact(core: Core, account_id: Any) -> dict[str, Any]:
    """Return {"phone", "email", "name"} of ``account_id``; raise ServiceValidationError if nobody knows it."""
    lookups = []
    billing = core.data.get("billing")
    if billing is not None and hasattr(billing, "get_account"):
        lookups.append(billing.get_account)
    hook = core.data.get(CONTACTS_HOOK)
    if callable(hook):
        lookups.append(hook)
    for lookup in lookups:
        found = lookup(account_id)
        if inspect.isawaitable(found):
            found = await found
        contact = _as_contact(found)
        if contact is not None:
            return contact
    raise ServiceValidationError(f"account {account_id}: unknown, or no contact lookup is available")
