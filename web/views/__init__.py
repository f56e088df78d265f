"""The dashboard's views."""
from __future__ import annotations

from .admin import ADMIN_VIEWS
from .batch import BATCH_VIEWS
from .grid import GRID_VIEWS
from .load_limiting import LOAD_LIMITING_VIEWS
from .load_reports import LOAD_REPORT_VIEWS
from .login import LOGIN_VIEWS
from .opening import OPENING_VIEWS
from .overview import OVERVIEW_VIEWS
from .prices import PRICES_VIEWS
from .receipts import RECEIPT_VIEWS
from .reports import REPORT_VIEWS
from .sales import SALES_VIEWS
from .tenant_login import TENANT_LOGIN_VIEWS
from .transactions import TRANSACTION_VIEWS
from .wiring import WIRING_VIEWS

ALL_VIEWS = (*LOGIN_VIEWS, *OVERVIEW_VIEWS, *GRID_VIEWS, *BATCH_VIEWS, *SALES_VIEWS, *OPENING_VIEWS,
             *REPORT_VIEWS, *PRICES_VIEWS, *RECEIPT_VIEWS, *TENANT_LOGIN_VIEWS,
             *TRANSACTION_VIEWS, *LOAD_LIMITING_VIEWS, *LOAD_REPORT_VIEWS,
             *ADMIN_VIEWS, *WIRING_VIEWS)
