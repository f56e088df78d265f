"""Messages of the error pages (403, 404, 500), shown in the site's layout."""
from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "error_403": ("无权访问", "Access denied"), "error_404": ("页面不存在", "Page not found"),
    "error_500": ("系统出错", "Something went wrong"),
    "error_hint_403": ("您的角色不能打开此页面。", "Your role cannot open this page."),
    "error_hint_404": ("您要找的页面、表计或记录不存在，可能已被删除或地址有误。",
                       "The page, meter or record you asked for does not exist, or the address is wrong."),
    "error_hint_500": ("出错已记入系统日志，请稍后再试；如仍出错请联系管理员。",
                       "The error is in the system log; try again later, and tell the administrator if it stays."),
}
