"""`openprepay db check`: the ledger balances, or the list of what differs (exit 1)."""
from __future__ import annotations

import argparse

from ..billing.ledger_check import async_check_ledger
from .context import async_open_core


async def async_check(args: argparse.Namespace) -> int:
    """Print the ledger's figures and every difference; 0 when all balances hold."""
    async with async_open_core(args.config) as (_configuration, core):
        assert core.db is not None
        found = await async_check_ledger(core.db)
    print(f"ledger: {found.transactions} transactions, {found.entries} entries, total {found.total_fen} fen; "
          f"{found.meters_compared} meter mirrors compared with the meters' last readings")
    if found.ok:
        print("OK: every transaction balances, every wallet and mirror has its owner, no meter holds money the "
              "ledger does not")
        return 0
    print(f"{len(found.differences)} difference{'s' if len(found.differences) > 1 else ''}:")
    for line in found.differences:
        print(f"  {line}")
    return 1
