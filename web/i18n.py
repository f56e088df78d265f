"""Message catalogues of the dashboard: zh-CN (default) and en. A missing key shows itself (never a crash)."""
from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("zh-CN", "en")

# key: (zh-CN, en)
MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "login_title": ("预付费电能管理系统 · 操作员登录", "Prepaid metering · operator login"),
    "login": ("登录", "Log in"), "logout": ("退出", "Log out"), "username": ("用户名", "User name"),
    "password": ("密码", "Password"), "change_password": ("修改密码", "Change password"),
    "must_change": ("首次登录请先修改初始密码。", "Please change the initial password first."),
    "current_password": ("当前密码", "Current password"), "new_password": ("新密码", "New password"),
    "confirm_password": ("确认新密码", "Confirm new password"), "save": ("保存", "Save"),
    "forbidden": ("无权访问", "Access denied"),
    "nav_grid": ("表计总览", "Meters"), "nav_accounts": ("开户售电", "Accounts & sales"),
    "nav_reports": ("报表中心", "Reports"), "nav_settings": ("系统设置", "Settings"),
    "nav_operators": ("操作员", "Operators"), "nav_audit": ("审计日志", "Audit log"),
    "role_admin": ("管理员", "admin"), "role_cashier": ("收费员", "cashier"), "role_viewer": ("查看员", "viewer"),
    "role": ("角色", "Role"),
    "search": ("搜索", "Search"), "all_buildings": ("全部楼宇", "All buildings"), "all_floors": ("全部楼层", "All floors"),
    "all_statuses": ("全部状态", "All statuses"), "meters": ("块表", "meters"), "updated": ("更新于", "updated"),
    "st_not_opened": ("未开户", "not opened"), "st_opened": ("开户", "opened"), "st_alarm1": ("报警1", "alarm 1"),
    "st_alarm2": ("报警2", "alarm 2"), "st_arrears": ("欠费", "arrears"), "st_offline": ("失联", "offline"),
    "flag_H": ("保电", "hold"), "flag_F": ("强制拉闸", "forced off"), "flag_T": ("已拉闸", "tripped"),
    "flag_B": ("禁售", "blocked"),
    "batch": ("批量遥控", "Batch control"), "run": ("执行", "Run"), "export_readings": ("抄表导出", "Export readings"),
    "svc_trip": ("拉闸", "Trip"), "svc_close": ("合闸", "Close"), "svc_hold": ("保电", "Hold"),
    "svc_restore_prepaid": ("恢复预付费", "Restore prepaid"), "svc_push_tariff": ("下发电价", "Push tariff"),
    "svc_push_settings": ("下发参数", "Push settings"),
    "price": ("电价(元/kWh，留空=下发计费电价)", "Price (yuan/kWh; empty = billing's tariff)"), "alarm1": ("报警1(元)", "Alarm 1 (yuan)"),
    "alarm2": ("报警2(元)", "Alarm 2 (yuan)"), "overload_w": ("过载功率(W)", "Overload (W)"),
    "done": ("成功", "done"), "failed": ("失败", "failed"), "pending": ("等待", "pending"), "running": ("执行中", "running"),
    "col_meter": ("表计", "Meter"), "col_label": ("名称", "Name"), "col_building": ("楼宇", "Building"),
    "col_floor": ("楼层", "Floor"), "col_account": ("账户", "Account"), "col_status": ("状态", "Status"),
    "col_remaining": ("剩余金额(元)", "Remaining (yuan)"), "col_power": ("功率(W)", "Power (W)"),
    "col_last_read": ("最后抄表", "Last reading"), "col_total_kwh": ("总电能(kWh)", "Total (kWh)"),
    "col_sharp": ("尖(kWh)", "Sharp (kWh)"), "col_peak": ("峰(kWh)", "Peak (kWh)"), "col_flat": ("平(kWh)", "Flat (kWh)"),
    "col_valley": ("谷(kWh)", "Valley (kWh)"), "col_purchase_count": ("购电次数", "Purchases"),
    "col_period": ("期间", "Period"), "col_operator": ("操作员", "Operator"), "col_method": ("付款方式", "Method"),
    "col_count": ("笔数", "Count"), "col_sales": ("售电(元)", "Sales (yuan)"), "col_refunds": ("退费(元)", "Refunds (yuan)"),
    "col_reversals": ("冲正(元)", "Reversals (yuan)"), "col_closes": ("销户退款(元)", "Close-outs (yuan)"),
    "col_net": ("净收(元)", "Net (yuan)"), "col_total": ("合计", "Total"), "col_meters": ("表数", "Meters"),
    "col_kwh": ("电量(kWh)", "Energy (kWh)"), "col_time": ("时间", "Time"), "col_level": ("级别", "Level"),
    "col_phase": ("进入/解除", "Enter/leave"), "col_money": ("金额(元)", "Amount (yuan)"), "col_entity": ("设备", "Device"),
    "col_kind": ("类型", "Kind"), "col_gateway": ("通讯管理机", "Gateway"), "col_last_seen": ("最后通讯", "Last seen"), "never": ("从未", "never"),
    "device_meter": ("电表", "meter"), "device_gateway": ("通讯管理机", "gateway"),
    "readings": ("抄表数据", "Readings"), "status": ("状态", "Status"), "blocked": ("禁止售电", "Blocked"),
    "control_holder": ("控制方", "Relay held by"),
    "ledger_money": ("余额(元)", "Balance (yuan)"), "room": ("房间", "Room"),
    "credit_policy": ("透支与囤积限值", "Overdraft and credit cap"), "overdraft": ("透支额度(元)", "Overdraft (yuan)"),
    "credit_cap": ("囤积限值(元)", "Credit cap (yuan)"), "in_force": ("生效", "in force"),
    "follow_building": ("留空：按楼宇", "empty: the building's"), "follow_account": ("留空：按账户", "empty: the account's"),
    "whole_account": ("整个账户", "Whole account"),
    "sell": ("售电", "Sell"), "refund": ("退费", "Refund"), "open_account": ("开户", "Open account"),
    "close_account": ("销户", "Close account"), "replace_meter": ("换表", "Replace meter"),
    "old_meter": ("旧表", "Old meter"), "new_meter": ("新表", "New meter"),
    "remaining_dead": ("旧表剩余金额(元，旧表无法读取时填写)", "Old meter's money (yuan, if it cannot be read)"),
    "optional": ("可选", "optional"), "confirm_q": ("确定执行？", "Are you sure?"),
    "tenant": ("户名", "Tenant"), "phone": ("手机", "Phone"), "meters_comma": ("表计(多块用逗号分隔)", "Meters (comma separated)"),
    "wallet": ("账户钱包(元)", "Wallet (yuan)"), "history": ("账户流水", "Account history"),
    "receipt_no": ("收据号", "Receipt no."), "acct_open": ("正常", "open"), "acct_closed": ("已销户", "closed"),
    "kind_sale": ("售电", "Sale"), "kind_refund": ("退费", "Refund"), "kind_reversal": ("冲正", "Reversal"),
    "kind_close": ("销户", "Close-out"), "kind_opening": ("开户", "Opening"), "kind_transfer": ("转账", "Transfer"),
    "kind_consumption": ("用电扣费", "Consumption"), "kind_fee": ("费用", "Fee"), "kind_adjustment": ("调整", "Adjustment"),
    "m_wallet": ("账户钱包转入(非收款)", "from the wallet (a transfer, not a sale)"),
    "transfer": ("钱包转入", "From wallet"), "topup_rule": ("在线充值分配", "Where online top-ups go"),
    "rule_lowest": ("余额最低的表", "The meter with the least money"),
    "rule_shares": ("按比例分配(%)", "Split by shares (%)"), "share_pct": ("比例(%)", "Share (%)"),
    "amount_yuan": ("金额(元)", "Amount (yuan)"), "next": ("下一步", "Next"), "confirm": ("确认", "Confirm"),
    "cancel": ("取消", "Cancel"), "confirm_amount": ("请确认金额", "Please confirm"),
    "delivery": ("写表", "Delivery to meter"), "dl_pending": ("待写表", "pending"), "dl_delivered": ("已写表", "delivered"),
    "dl_cancelled": ("已取消", "cancelled"), "print_receipt": ("打印收据(三联单)", "Print receipt (3 copies)"),
    "reverse": ("冲正", "Reverse"), "reason": ("原因", "Reason"),
    "report_sales": ("售电报表", "Sales"), "report_energy": ("能耗报表", "Energy"), "report_alarms": ("报警记录", "Alarm history"),
    "report_alarms_now": ("实时报警", "Alarms now"),
    "report_offline": ("失联设备", "Offline devices"), "start": ("开始", "From"), "end": ("结束", "To"),
    "period": ("周期", "Period"), "per_day": ("日", "daily"), "per_month": ("月", "monthly"), "per_year": ("年", "yearly"),
    "group_by": ("分组", "Group by"), "show": ("查询", "Show"), "export_xlsx": ("导出 Excel", "Export to Excel"),
    "no_rows": ("没有数据", "No rows"), "level_alarm1": ("报警1", "alarm 1"), "level_alarm2": ("报警2", "alarm 2"),
    "level_arrears": ("欠费", "arrears"), "level_overload": ("过载", "overload"), "level_tamper": ("购电次数异常", "tamper"),
    "level_offline": ("失联", "offline"), "level_enter": ("进入", "enter"), "level_leave": ("解除", "leave"),
    "col_since": ("开始时间", "Since"), "col_detail": ("详情", "Detail"), "col_reason": ("原因", "Reason"),
    "resolve_tamper": ("解除购电次数异常锁定", "Resolve the tamper block"),
    "resolve_reason": ("处理说明（必填）", "What was found (required)"), "resolve": ("解除锁定", "Resolve"),
    "resolve_hint": ("以表内购电次数和剩余金额为准，差额记入调整账，并恢复售电。",
                     "The meter's purchase count and money are accepted, the difference is posted as an adjustment, "
                     "and sales resume."),
    "err_reason": ("请填写原因", "A reason is required"),
    "display_name": ("姓名", "Name"), "active": ("启用", "Active"), "yes": ("是", "yes"), "no": ("否", "no"),
    "reset_password": ("重置密码", "Reset password"), "token_name": ("令牌名称", "Token name"),
    "create_token": ("创建API令牌", "Create API token"), "add_operator": ("新增操作员", "Add operator"),
    "api_tokens": ("API 令牌", "API tokens"), "created": ("创建", "Created"), "last_used": ("最近使用", "Last used"),
    "revoked": ("已吊销", "Revoked"), "revoke": ("吊销", "Revoke"),
    "token_once": ("令牌只显示这一次，请立即保存：", "The token is shown only once; store it now:"),
    "action": ("操作", "Action"), "target": ("对象", "Target"), "remote": ("来源地址", "From"),
    "before": ("变更前", "Before"), "after": ("变更后", "After"),
    "yaml_wins": ("楼宇、通讯管理机、总线和表计由 YAML 配置声明，此处只读（YAML 优先）；楼层、房间和名称可在此编辑或从表格导入。",
                  "Buildings, gateways, buses and meters are declared in YAML and read-only here (YAML wins); "
                  "floor, room and name are edited here or imported from a sheet."),
    "buildings": ("楼宇", "Buildings"), "meter_patterns": ("表计范围", "Meter patterns"), "tariff": ("电价", "Tariff"),
    "gateways": ("通讯管理机", "Gateways"), "buses": ("总线", "Buses"), "directory": ("表计档案", "Meter directory"),
    "download_template": ("下载导入模板", "Download the import template"), "dry_run": ("预检", "Dry run"),
    "line": ("行", "Line"), "errors": ("错误", "Errors"), "do_import": ("导入", "Import"),
    "fix_errors": ("请先改正错误行，再重新预检。", "Fix the rows with errors and run the dry run again."),
    "imported": ("已导入 {count} 块表。", "Imported {count} meters."),
    "err_login": ("用户名或密码错误", "Wrong user name or password"),
    "err_locked": ("登录失败次数过多，请 {seconds} 秒后再试", "Too many failed logins; try again in {seconds} seconds"),
    "err_csrf": ("表单已失效，请刷新页面后重试", "The form expired; reload the page and try again"),
    "err_role": ("无效角色", "Invalid role"), "err_password_short": ("密码至少 8 位", "The password needs at least 8 characters"),
    "err_password_common": ("这是常见密码，容易被猜中，请换一个", "That is a common password, easy to guess; choose another"),
    "err_password_user": ("密码不能包含用户名", "The password must not contain the user name"),
    "password_rule": ("密码至少 8 位，不能是常见密码，也不能包含用户名；建议使用几个词组成的长句。",
                      "At least 8 characters, not a common password and not containing the user name; "
                      "a few words make a good one."),
    "err_username_taken": ("用户名已存在", "That user name is taken"), "err_no_operator": ("操作员不存在", "No such operator"),
    "err_wrong_password": ("当前密码错误", "The current password is wrong"),
    "err_password_same": ("新密码不能与当前密码相同", "The new password must differ from the current one"),
    "err_password_mismatch": ("两次输入的新密码不一致", "The new passwords differ"),
    "err_self_lockout": ("不能停用自己或修改自己的角色", "You cannot deactivate yourself or change your own role"),
    "err_no_token": ("令牌不存在或已吊销", "No such token, or revoked already"), "err_bad_input": ("输入有误", "Invalid input"),
    "err_no_entity": ("缺少 entity_id", "entity_id is missing"), "err_unknown_meter": ("未知表计", "unknown meter"),
    "err_duplicate_row": ("重复的表计", "duplicate meter"), "err_too_long": ("内容过长", "too long"),
    "err_no_file": ("请选择要导入的文件", "Choose a file to import"), "err_bad_sheet": ("无法读取表格", "Cannot read the sheet"),
    "err_amount": ("请输入正确的金额（最多两位小数）", "Enter a valid amount (at most 2 decimals)"),
    "err_no_billing": ("计费模块未加载", "Billing is not loaded"),
    **{f"attr_{k}": (zh, en) for k, zh, en in (
        ("remaining_fen", "剩余金额(元)", "Remaining (yuan)"), ("purchase_count", "购电次数", "Purchase count"),
        ("total_wh", "总电能(Wh)", "Total (Wh)"), ("power_w", "功率(W)", "Power (W)"), ("voltage_a", "A相电压(V)", "Voltage A (V)"),
        ("current_a", "A相电流(A)", "Current A (A)"), ("power_factor", "功率因数", "Power factor"), ("relay", "继电器", "Relay"),
        ("prepaid_mode", "预付费模式", "Prepaid mode"), ("alarm1", "报警1", "Alarm 1"), ("alarm2", "报警2", "Alarm 2"),
        ("arrears", "欠费", "Arrears"), ("overload", "过载", "Overload"), ("online", "在线", "Online"),
        ("gateway", "通讯管理机", "Gateway"), ("bus", "总线", "Bus"), ("address", "地址", "Address"),
        ("meter_type", "表型", "Meter type"), ("billing", "计费方式", "Billing"))},
}


class Catalogue(dict[str, str]):
    """A language's messages; an unknown key renders as itself."""

    def __missing__(self, key: str) -> str:
        return key


_CATALOGUES: Final = {
    language: Catalogue({key: pair[index] for key, pair in MESSAGES.items()}) for index, language in enumerate(LANGUAGES)
}


def texts(language: str) -> Catalogue:
    """Return the catalogue of ``language`` (zh-CN when unknown)."""
    return _CATALOGUES.get(language, _CATALOGUES[LANGUAGES[0]])
