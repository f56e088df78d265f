"""Messages of receipts: the print page's links, the opening receipt and the receipt layout page (收据样式)."""
from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "receipt_print_page": ("打印预览", "Print preview"), "receipt_pdf": ("PDF", "PDF"),
    "receipt_download": ("下载", "Download"), "opening_receipt": ("开户单", "Opening receipt"),
    "nav_receipt_layout": ("收据样式", "Receipt layout"),
    "receipt_layout_intro": ("每张收据（售电、退费、冲正、销户、开户）都按此样式打印，三联（存根联/客户联/财务联）同一编号。",
                             "Every receipt (sale, refund, reversal, close-out, opening) prints in this layout, three "
                             "copies under one number."),
    "receipt_site_template": ("站点自定义模板 {path} 存在，它优先于此样式（模板可读取 layout）。",
                              "The site's own template {path} exists and wins over this layout (it receives `layout`)."),
    "receipt_title": ("标题（留空=“楼宇名 售电收据”）", "Title (empty: \"<site> <kind> receipt\")"),
    "receipt_footer": ("页脚说明", "Footer note"), "receipt_logo": ("标志（PNG/JPEG，≤512 KB）", "Logo (PNG/JPEG, ≤512 KB)"),
    "receipt_remove_logo": ("去掉标志", "Remove the logo"), "receipt_fields": ("打印的栏目", "Fields printed"),
    "receipt_preview": ("预览（PDF）", "Preview (PDF)"), "receipt_layout_saved": ("已保存，下一张收据起生效", "Saved; used from the next receipt"),
    "receipt_sample_tenant": ("示例商铺", "Sample shop"), "receipt_sample_operator": ("示例收银员", "Sample cashier"),
    "err_logo_size": ("标志太大（最大 512 KB、2000×2000 像素）", "The logo is too large (512 KB, 2000×2000 pixels at most)"),
    "err_logo_type": ("标志须为 PNG 或 JPEG 图片", "The logo must be a PNG or JPEG image"),
    "err_layout_long": ("标题最多 64 字，页脚最多 256 字", "A title holds 64 characters, a footer 256"),
    "rf_building": ("楼宇", "Building"), "rf_account_id": ("账户号", "Account no."), "rf_meter": ("表计", "Meter"),
    "rf_method": ("付款方式", "Method"), "rf_balance_before": ("购电前余额", "Balance before"),
    "rf_balance_after": ("购电后余额", "Balance after"), "rf_price": ("电价", "Price"), "rf_kwh": ("电量", "kWh"),
    "rf_purchase_count": ("购电次数", "Purchase count"), "rf_signature": ("客户签字", "Customer signature"),
    "act_receipt_layout": ("修改收据样式", "Changed the receipt layout"),
}
