"""Credit policy: overdraft allowance (透支) and credit cap (囤积限值) checks."""

from __future__ import annotations

from .errors import BillingError
from .models import AccountRow, MeterRow

CAP_LEVELS = (("表计", "meter"), ("账户", "account"), ("楼宇", "building"))


def fen_text(fen: int) -> str:
    """Return fen as yuan text, e.g. 12345 -> '123.45'."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"


def own_first(*values: int | None) -> tuple[int | None, int]:
    """Return the first value that is set and its position (meter, account, building), or (None, -1)."""
    for position, value in enumerate(values):
        if value is not None:
            return value, position
    return None, -1


def credit_cap_of(
    meter: MeterRow | None, account: AccountRow | None, default_cap: int | None
) -> tuple[int | None, int]:
    """Return the credit cap in force and where it comes from (0 meter, 1 account, 2 building, -1 none)."""
    return own_first(
        meter.credit_cap_fen if meter is not None else None,
        account.credit_cap_fen if account is not None else None,
        default_cap,
    )


def check_credit_cap(
    meter: MeterRow | None, account: AccountRow, balance_fen: int, amount_fen: int, default_cap: int | None
) -> None:
    """Refuse money that would lift the balance above the meter's (else account's, building's) credit cap."""
    cap, position = credit_cap_of(meter, account, default_cap)
    if cap is not None and balance_fen + amount_fen > cap:
        room = max(cap - balance_fen, 0)
        zh, en = CAP_LEVELS[position]
        raise BillingError(
            f"超过{zh}囤积限值：余额 {fen_text(balance_fen)} 元加本次 {fen_text(amount_fen)} 元将超过上限 "
            f"{fen_text(cap)} 元，本次最多可售 {fen_text(room)} 元",
            f"{en} credit cap exceeded: balance {fen_text(balance_fen)} + {fen_text(amount_fen)} CNY "
            f"would pass the cap of {fen_text(cap)} CNY; at most {fen_text(room)} CNY can be sold now",
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
