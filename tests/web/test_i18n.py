"""Every message the dashboard names exists in zh-CN and en."""
from __future__ import annotations

import re
from pathlib import Path

from scada_core.permissions import PERMISSIONS
from web.const import BATCH_SERVICES, ROLES
from web.i18n import LANGUAGES, MESSAGES, texts

WEB = Path(__file__).resolve().parents[2] / "web"
LITERAL = re.compile(r"""\bt\[['"]([a-zA-Z0-9_]+)['"]\]|\b((?:err|col)_[a-z_]+)\b""")


def test_every_named_message_has_both_languages() -> None:
    """Literal keys in templates and views, plus the prefixed families, are all translated."""
    sources = [*WEB.glob("templates/*.html"), *WEB.glob("*.py"), *WEB.glob("views/*.py")]
    keys = {m.group(1) or m.group(2) for f in sources for m in LITERAL.finditer(f.read_text(encoding="utf-8"))}
    keys |= {f"role_{r}" for r in ROLES} | {f"svc_{s}" for s in BATCH_SERVICES} | {f"perm_{p}" for p in PERMISSIONS}
    keys |= {f"st_{s}" for s in ("not_opened", "opened", "alarm1", "alarm2", "arrears", "offline")}
    missing = sorted(k for k in keys if k not in MESSAGES)
    assert not missing, missing
    zh, en = texts("zh-CN"), texts("en")
    assert all(zh[k] and en[k] for k in MESSAGES)
    assert zh["nav_reports"] == "报表中心" and en["nav_reports"] == "Reports"
    assert texts("fr") is zh and LANGUAGES[0] == "zh-CN"
    assert zh["no_such_key"] == "no_such_key"
