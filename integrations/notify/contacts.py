"""Find the phone and e-mail of an account: billing first, then the ``notify_contacts`` hook.

Billing (``core.data["billing"]``) is asked through ``await billing.account(account_id)`` (a dict with ``phone`` and
``name``; billing keeps no e-mail). Any part may also set ``core.data["notify_contacts"] = lookup`` where
``lookup(account_id)`` returns (or resolves to) a dict with ``phone``, ``email``, ``name`` or None; it is asked when
billing is absent, does not know the account, or has no value for the field wanted.
"""
from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from scada_core.exceptions import OpenPrepayError, ServiceValidationError

from .const import CONSENT_HOOK, CONTACTS_HOOK

if TYPE_CHECKING:
    from scada_core.core import Core

_LOGGER = logging.getLogger(__name__)

CONTACT_FIELDS = ("phone", "email", "name")


async def _ask(lookup: Callable[[Any], Any], account_id: Any) -> dict[str, Any] | None:
    try:
        found = lookup(account_id)
        if inspect.isawaitable(found):
            found = await found
    except OpenPrepayError as err:
        _LOGGER.debug("Contact lookup for account %s: %s", account_id, err)
        return None
    if not isinstance(found, dict):
        return None
    return {key: found.get(key) for key in CONTACT_FIELDS}


async def async_resolve_contact(core: Core, account_id: Any, field: str) -> dict[str, Any]:
    """Return {"phone", "email", "name"} of ``account_id`` with ``field`` set; raise ServiceValidationError if none."""
    lookups = []
    billing = core.data.get("billing")
    if billing is not None and hasattr(billing, "account"):
        lookups.append(billing.account)
    hook = core.data.get(CONTACTS_HOOK)
    if callable(hook):
        lookups.append(hook)
    known = False
    for lookup in lookups:
        contact = await _ask(lookup, account_id)
        if contact is None:
            continue
        known = True
        if contact.get(field):
            return contact
    if known:
        raise ServiceValidationError(f"account {account_id} has no {field}")
    raise ServiceValidationError(f"account {account_id}: unknown, or no contact lookup is available")


async def async_consents(core: Core, account_id: Any, channel: str) -> bool:
    """Tell whether the account's holder still wants messages on ``channel`` (yes, unless a part says no)."""
    hook = core.data.get(CONSENT_HOOK)
    if not callable(hook):
        return True
    answer = hook(account_id, channel)
    if inspect.isawaitable(answer):
        answer = await answer
    return answer is not False
