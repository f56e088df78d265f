"""Billing tables: accounts, meters, ledger, deliveries, tariffs, receipts and alarms (all money in fen)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from scada_core.storage.models import Base

ID = BigInteger().with_variant(Integer, "sqlite")


class AccountRow(Base):
    """A tenant's account (户): one or more meters pay from or for it."""

    __tablename__ = "billing_accounts"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    building: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(255))
    open_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    overdraft_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    credit_cap_fen: Mapped[int | None] = mapped_column(BigInteger)
    opened_ts: Mapped[float] = mapped_column(Float)
    closed_ts: Mapped[float | None] = mapped_column(Float)
    # Where an online or kiosk top-up of several meter-side meters goes unless the tenant chooses a meter:
    # "lowest" (the meter holding the least money) or "shares" (split by ``topup_shares``, JSON {meter: percent}).
    topup_rule: Mapped[str] = mapped_column(String(16), default="lowest", server_default="lowest")
    topup_shares: Mapped[str | None] = mapped_column(Text)
    load_category: Mapped[str | None] = mapped_column(String(32))  # its meters' 用电性质 unless they have their own


class MeterRow(Base):
    """A meter known to billing: its account, mode and the purchase count we last confirmed."""

    __tablename__ = "billing_meters"

    entity_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    building: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("billing_accounts.id"), index=True)
    mode: Mapped[str] = mapped_column(String(8))
    purchase_count: Mapped[int] = mapped_column(Integer, default=0)
    last_total_wh: Mapped[int | None] = mapped_column(BigInteger)
    last_reading_ts: Mapped[float | None] = mapped_column(Float)
    tier_period: Mapped[str | None] = mapped_column(String(8))
    tier_wh: Mapped[int] = mapped_column(BigInteger, default=0)
    fee_month: Mapped[str | None] = mapped_column(String(8))
    alarm_level: Mapped[str] = mapped_column(String(16), default="normal")
    overload: Mapped[bool] = mapped_column(Boolean, default=False)
    tripped: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    blocked_reason: Mapped[str | None] = mapped_column(Text)
    overdraft_fen: Mapped[int | None] = mapped_column(BigInteger)
    credit_cap_fen: Mapped[int | None] = mapped_column(BigInteger)
    # The meter's own alarm levels and overload limit; None: the building's.
    alarm1_fen: Mapped[int | None] = mapped_column(BigInteger)
    alarm2_fen: Mapped[int | None] = mapped_column(BigInteger)
    overload_w: Mapped[int | None] = mapped_column(Integer)
    # 用电性质: the key of a load category (billing_load_categories), or None.
    load_category: Mapped[str | None] = mapped_column(String(32))


class CreditChangeRow(Base):
    """One change of a meter's (or, with no meter, an account's) own credit policy and (a meter's) thresholds,
    with who made it and when; a meter's row holds all its own settings after the change.

    None in a field: follow the account (for a meter) or the building (for an account; and a meter's thresholds).
    """

    __tablename__ = "billing_credit_changes"
    __table_args__ = (
        Index("ix_billing_credit_changes_meter_ts", "meter_entity_id", "ts"),
        Index("ix_billing_credit_changes_account_ts", "account_id", "ts"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    ts: Mapped[float] = mapped_column(Float)
    meter_entity_id: Mapped[str | None] = mapped_column(String(255))
    account_id: Mapped[int | None] = mapped_column(Integer)
    operator_id: Mapped[str] = mapped_column(String(64))
    operator_role: Mapped[str] = mapped_column(String(16))
    overdraft_fen: Mapped[int | None] = mapped_column(BigInteger)
    credit_cap_fen: Mapped[int | None] = mapped_column(BigInteger)
    alarm1_fen: Mapped[int | None] = mapped_column(BigInteger)
    alarm2_fen: Mapped[int | None] = mapped_column(BigInteger)
    overload_w: Mapped[int | None] = mapped_column(Integer)


class TransactionRow(Base):
    """One balanced ledger transaction; ``idempotency_key`` makes a repeat a no-op."""

    __tablename__ = "billing_transactions"
    __table_args__ = (
        UniqueConstraint("building", "receipt_seq", name="uq_billing_transactions_receipt"),
        # a meter's consumption charges over a time range, summed from the index (the energy report's cost)
        Index("ix_billing_transactions_kind_meter_ts", "kind", "meter_entity_id", "ts", "amount_fen"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    ts: Mapped[float] = mapped_column(Float, index=True)
    operator_id: Mapped[str] = mapped_column(String(64))
    operator_role: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    account_id: Mapped[int | None] = mapped_column(Integer, index=True)
    meter_entity_id: Mapped[str | None] = mapped_column(String(255), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    method: Mapped[str | None] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(128))
    building: Mapped[str | None] = mapped_column(String(64))
    receipt_seq: Mapped[int | None] = mapped_column(Integer)
    receipt_no: Mapped[str | None] = mapped_column(String(64))
    reverses_id: Mapped[int | None] = mapped_column(Integer, unique=True)


class EntryRow(Base):
    """One leg of a transaction: a signed amount on a ledger account (debit positive)."""

    __tablename__ = "billing_entries"
    # Covering: a balance is SUM(amount_fen) of one account, read from the index alone (24x faster at
    # 1,700 entries an account on SQLite, and it grows with the account's history).
    __table_args__ = (Index("ix_billing_entries_account_amount", "account", "amount_fen"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("billing_transactions.id"), index=True)
    account: Mapped[str] = mapped_column(String(255))
    amount_fen: Mapped[int] = mapped_column(BigInteger)


class DeliveryRow(Base):
    """Money to write to (sell) or take off (refund) a meter-side meter with a target purchase count."""

    __tablename__ = "billing_deliveries"
    __table_args__ = (Index("ix_billing_deliveries_status", "status", "meter_entity_id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("billing_transactions.id"), index=True)
    meter_entity_id: Mapped[str] = mapped_column(String(255))
    op: Mapped[str] = mapped_column(String(8))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    purchase_count: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_ts: Mapped[float] = mapped_column(Float)
    settled_ts: Mapped[float | None] = mapped_column(Float)
    remaining_fen: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)


class BuildingPolicyRow(Base):
    """A building's alarm levels, overdraft, credit cap and overload limit, valid from ``effective_ts`` (the
    latest version in force wins; YAML seeds the first one, the UI adds the others)."""

    __tablename__ = "billing_building_policies"
    __table_args__ = (Index("ix_billing_building_policies", "building", "effective_ts"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    building: Mapped[str] = mapped_column(String(64))
    effective_ts: Mapped[float] = mapped_column(Float)
    policy: Mapped[str] = mapped_column(Text)  # JSON: every name of POLICY_NAMES (None: not set)
    created_ts: Mapped[float] = mapped_column(Float)
    operator_id: Mapped[str] = mapped_column(String(64))


class TariffVersionRow(Base):
    """A tariff for a building (default) or one meter (override), valid from ``effective_ts``.

    Whether a meter holds it is no flag here: billing compares what each meter reports with the tariff in force.
    """

    __tablename__ = "billing_tariff_versions"
    __table_args__ = (Index("ix_billing_tariff_scope", "scope", "effective_ts"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    scope: Mapped[str] = mapped_column(String(255))
    effective_ts: Mapped[float] = mapped_column(Float)
    spec: Mapped[str] = mapped_column(Text)
    created_ts: Mapped[float] = mapped_column(Float)
    operator_id: Mapped[str] = mapped_column(String(64))


class ReceiptCounterRow(Base):
    """The last receipt number handed out in a building (gap-free: bumped inside the sale's transaction)."""

    __tablename__ = "billing_receipt_counters"

    building: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_seq: Mapped[int] = mapped_column(Integer, default=0)


class AlarmRow(Base):
    """One alarm crossing (enter or leave) of a meter, for the alarm report."""

    __tablename__ = "billing_alarms"
    __table_args__ = (Index("ix_billing_alarms_meter_ts", "meter_entity_id", "ts"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    ts: Mapped[float] = mapped_column(Float, index=True)
    meter_entity_id: Mapped[str] = mapped_column(String(255))
    account_id: Mapped[int | None] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(16))
    phase: Mapped[str] = mapped_column(String(8))
    value_fen: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str | None] = mapped_column(Text)


class ControlChangeRow(Base):
    """One change of who holds a meter's relay (staff / prepaid / none), by which service, actor and user."""

    __tablename__ = "billing_control_changes"
    __table_args__ = (Index("ix_billing_control_changes_meter_id", "meter_entity_id", "id"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    ts: Mapped[float] = mapped_column(Float)
    meter_entity_id: Mapped[str] = mapped_column(String(255))
    holder: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[str | None] = mapped_column(String(64))
    service: Mapped[str] = mapped_column(String(32))


class LoadCategoryRow(Base):
    """A load category (用电性质) meters are given; ``protected`` ones (重要负荷) are never limited."""

    __tablename__ = "billing_load_categories"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)


class LoadPlanRow(Base):
    """A load-limiting plan (限电方案): the categories it limits, how (a lower overload limit, or a trip) and for
    how long."""

    __tablename__ = "billing_load_plans"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    categories: Mapped[str] = mapped_column(Text)  # JSON list of category keys
    action: Mapped[str] = mapped_column(String(8))  # limit / trip
    limit_w: Mapped[int | None] = mapped_column(Integer)  # a limit plan's overload limit
    duration_s: Mapped[int] = mapped_column(Integer)
    created_ts: Mapped[float] = mapped_column(Float)
    operator_id: Mapped[str] = mapped_column(String(64))


class LoadRunRow(Base):
    """One run of a plan over a window: scheduled, active, then ended (at its end, or ended early)."""

    __tablename__ = "billing_load_runs"
    __table_args__ = (Index("ix_billing_load_runs_status", "status", "start_ts"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("billing_load_plans.id"), index=True)
    plan_name: Mapped[str] = mapped_column(String(128))
    categories: Mapped[str] = mapped_column(Text)  # the plan's categories when it was run (JSON)
    action: Mapped[str] = mapped_column(String(8))
    limit_w: Mapped[int | None] = mapped_column(Integer)
    start_ts: Mapped[float] = mapped_column(Float)
    end_ts: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    operator_id: Mapped[str] = mapped_column(String(64))
    created_ts: Mapped[float] = mapped_column(Float)
    started_ts: Mapped[float | None] = mapped_column(Float)
    ended_ts: Mapped[float | None] = mapped_column(Float)
    # The buildings it may touch (JSON list; None: all): an operator kept to some buildings limits only theirs.
    buildings: Mapped[str | None] = mapped_column(Text)
    # The request's key: a repeat (a double click, a replayed API call) returns this run instead of a second one.
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)


class LoadRunMeterRow(Base):
    """One meter of a run: the limit it held before, whether it was limited (or why not) and its restore."""

    __tablename__ = "billing_load_run_meters"
    __table_args__ = (UniqueConstraint("run_id", "meter_entity_id", name="uq_billing_load_run_meters"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("billing_load_runs.id"), index=True)
    meter_entity_id: Mapped[str] = mapped_column(String(255), index=True)
    account_id: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str | None] = mapped_column(String(32))
    previous_w: Mapped[int | None] = mapped_column(Integer)  # what the meter held when the run began
    outcome: Mapped[str] = mapped_column(String(16))  # limited / tripped / pending / exempt_hold / exempt_off
    limited_ts: Mapped[float | None] = mapped_column(Float)
    restored_w: Mapped[int | None] = mapped_column(Integer)
    restored_ts: Mapped[float | None] = mapped_column(Float)
    restore: Mapped[str | None] = mapped_column(String(16))  # restored / left (someone else holds the relay now)
