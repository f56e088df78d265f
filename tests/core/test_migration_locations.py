"""Each integration owns its migrations: Alembic's version locations are core's folder plus the `migrations/`
folder of every integration the loader finds; moving the files there kept every revision id and link, so a
database migrated from the one folder they shared is at head, and a fresh one reaches the same schema."""
from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from scada_core.loader import PROJECT_DIR
from scada_core.storage.database import Database, resolve_url
from scada_core.storage.locations import CORE_VERSIONS, version_locations
from tests.helpers import close_database

# Every revision with its parent: those up to 0019 lived in scada_core/storage/migrations/versions together.
CHAIN = {
    "0001_core": None,
    "0002_field": "0001_core",
    "0003_billing": "0001_core",
    "0004_notify": "0001_core",
    "0005_automation": "0001_core",
    "0006_web": "0001_core",
    "0007_alipay": "0001_core",
    "0008_billing_meter_credit": "0003_billing",
    "0009_billing_account_credit": "0008_billing_meter_credit",
    "0010_payment_provider": "0007_alipay",
    "0011_billing_entries_covering": "0009_billing_account_credit",
    "0012_topup_secret": "0010_payment_provider",
    "0013_notify_secret_body": "0004_notify",
    "0014_billing_desired_state": "0011_billing_entries_covering",
    "0015_billing_control_holder": "0014_billing_desired_state",
    "0016_topup_rule": "0015_billing_control_holder",
    "0017_billing_alarm_reason": "0016_topup_rule",
    "0018_order_meter": "0012_topup_secret",
    "0019_topup_orders": "0018_order_meter",
    "0020_field_batch_operator": "0002_field",  # added after the move, in its owner's folder
    "0021_billing_building_policies": "0017_billing_alarm_reason",
    "0022_web_receipt_layout": "0006_web",
    "0023_tenant_sms_alerts": "0019_topup_orders",
    "0036_web_roles": "0022_web_receipt_layout",
    "0034_energy_daily_tou": "0036_web_roles",
    "0035_billing_meter_charges": "0021_billing_building_policies",
    "0026_billing_load_limiting": "0035_billing_meter_charges",  # numbered before it, written after it
    "0030_modbus_wiring": "0020_field_batch_operator",
    "0037_billing_account_category": "0026_billing_load_limiting",
}
# Where each revision lives now (the integration that owns its tables).
OWNERS = {
    "integrations/modbus/migrations": {"0002_field", "0020_field_batch_operator", "0030_modbus_wiring"},
    "integrations/notify/migrations": {"0004_notify", "0013_notify_secret_body"},
    "integrations/automation/migrations": {"0005_automation"},
    "web/migrations": {"0006_web", "0022_web_receipt_layout", "0036_web_roles", "0034_energy_daily_tou"},
    "integrations/topup/migrations": {
        "0007_alipay", "0010_payment_provider", "0012_topup_secret", "0018_order_meter", "0019_topup_orders",
        "0023_tenant_sms_alerts",
    },
}


def _revisions(folder: Path) -> set[str]:
    """Return the revision files of a version folder, by name."""
    return {path.stem for path in folder.glob("*.py")}


def _schema(connection: Connection, schema: str | None) -> dict[str, tuple[list[str], list[str]]]:
    """Return each table's columns and indexes in ``schema`` (the version table left out)."""
    found = inspect(connection)
    return {
        table: (sorted(c["name"] for c in found.get_columns(table, schema)),
                sorted(str(i["name"]) for i in found.get_indexes(table, schema)))
        for table in found.get_table_names(schema)
        if table != "alembic_version"
    }


def test_every_revision_lives_with_its_integration() -> None:
    """The locations are core's folder and each owner's; together they hold the same revisions as before."""
    locations = version_locations()
    assert locations[0] == CORE_VERSIONS
    owners = {str(path.relative_to(PROJECT_DIR)): _revisions(path) for path in locations[1:]}
    assert owners == OWNERS
    assert set().union(_revisions(CORE_VERSIONS), *owners.values()) == set(CHAIN)
    assert Database.head_revisions() == {
        "0030_modbus_wiring", "0005_automation", "0034_energy_daily_tou", "0013_notify_secret_body",
        "0037_billing_account_category", "0023_tenant_sms_alerts",
    }


async def test_a_database_at_head_before_the_move_is_at_head_after(
    db_settings: dict[str, str], tmp_path: Path
) -> None:
    """A database migrated from the one shared folder (the same files in one place) is at head for the split
    locations, an upgrade changes nothing, and its schema is the schema a fresh database reaches."""
    shared = tmp_path / "versions"
    shared.mkdir()
    for location in version_locations():
        for path in location.glob("*.py"):
            shutil.copy(path, shared)
    url = resolve_url(tmp_path, db_settings["db_url"])
    schema = db_settings.get("db_schema")
    before = Database(url, schema, versions=[shared])
    after = Database(url, schema)
    fresh_schema = f"{schema}_fresh" if schema else None
    fresh_url = url if schema else resolve_url(tmp_path, f"sqlite:///{tmp_path / 'fresh.db'}")
    fresh = Database(fresh_url, fresh_schema)
    try:
        await before.async_upgrade()
        heads = await before.async_current_revisions()
        assert heads == Database.head_revisions()
        await before.async_close()
        await after.async_upgrade()
        assert await after.async_current_revisions() == heads
        await fresh.async_upgrade()
        assert await fresh.async_current_revisions() == heads
        async with after.engine.connect() as conn:
            upgraded = await conn.run_sync(_schema, schema)
        async with fresh.engine.connect() as conn:
            assert await conn.run_sync(_schema, fresh_schema) == upgraded
        assert {"topup_orders", "tenant_credentials", "notify_outbox"} <= set(upgraded)
    finally:
        await close_database(fresh)
        await close_database(after)
