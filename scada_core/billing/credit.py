"""Credit policy: overdraft allowance (透支) and credit cap (囤积限值) checks."""

from __future__ import annotations

from .errors import BillingError
from .models import AccountRow


def fen_text(fen: int) -> str:
    """Return fen as yuan text, e.g. 12345 -> '123.45'."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def check_credit_cap(account: AccountRow, balance_fen: int, amount_fen: int, default_cap: int | None) -> None:
    """Refuse money that would lift the balance above the account's (or building's) credit cap."""
    cap = account.credit_cap_fen if account.credit_cap_fen is not None else default_cap
    if cap is not None and balance_fen + amount_fen > cap:
        room = max(cap - balance_fen, 0)
        raise BillingError(
            f"超过囤积限值：余额 {fen_text(balance_fen)} 元加本次 {fen_text(amount_fen)} 元将超过上限 {fen_text(cap)} 元，"
            f"本次最多可售 {fen_text(room)} 元",
            f"credit cap exceeded: balance {fen_text(balance_fen)} + {fen_text(amount_fen)} CNY would pass the cap of "
            f"{fen_text(cap)} CNY; at most {fen_text(room)} CNY can be sold now",
        )


def check_can_take(balance_fen: int, amount_fen: int) -> None:
    """Refuse taking more money off than the balance holds."""
    if amount_fen > balance_fen:
        raise BillingError(
            f"余额不足：余额 {fen_text(balance_fen)} 元，不能退 {fen_text(amount_fen)} 元",
            f"insufficient balance: {fen_text(balance_fen)} CNY, cannot take {fen_text(amount_fen)} CNY",
        )


def in_arrears(balance_fen: int, overdraft_fen: int) -> bool:
    """Tell whether the balance has used up the money and the overdraft allowance."""
    return balance_fen <= -overdraft_fen
