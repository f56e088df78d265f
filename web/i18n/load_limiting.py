"""Messages of load limiting (限电): categories, plans, runs and their report."""
from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "nav_load_limiting": ("限电", "Load limiting"),
    "load_intro": ("按用电性质有选择地限电：方案把所选类别表计的过载功率限值在时段内降到设定值（超出部分由电表自行断开），"
                   "或在时段内拉闸；结束时自动恢复原限值、合回本方案拉闸且仍由它控制的表计（重启后也会恢复）。"
                   "保电表计和重要负荷不受限；每次执行、结束和修改都记入审计日志。",
                   "Limit supply selectively by load category: a plan lowers the overload limit of the chosen "
                   "categories' meters for a window (the meter itself cuts the excess), or trips them; at the end "
                   "each meter gets its previous limit back and what the plan tripped (and still controls) is "
                   "switched back, also after a restart. Held meters and important loads are exempt; every run, "
                   "end and change is audited."),
    "load_confirm": ("确认限电", "Confirm load limiting"),
    "load_confirm_limit": ("方案「{plan}」将把 {count} 块表的过载限值降到 {limit} W，从 {start} 到 {end}。",
                           "Plan “{plan}” lowers the overload limit of {count} meters to {limit} W from {start} to {end}."),
    "load_confirm_trip": ("方案「{plan}」将对 {count} 块表拉闸，从 {start} 到 {end}；结束时只合回本方案仍控制的表计。",
                          "Plan “{plan}” switches {count} meters off from {start} to {end}; at the end it switches "
                          "back only those it still controls."),
    "load_action": ("方式", "Action"), "load_action_limit": ("降低过载限值", "Lower the overload limit"),
    "load_action_trip": ("拉闸", "Trip"),
    "load_outcome_tripped": ("已拉闸（已回读）", "Off (read back)"),
    "load_outcome_exempt_off": ("原已断电（欠费或物业控制），不会被本方案合闸",
                                "Already off (arrears or staff): never switched on by this run"),
    "load_in_progress": ("正在下发到表计，本页自动刷新", "Reaching the meters; this page reloads by itself"),
    "load_report": ("限电报表", "Load-limiting report"),
    "load_report_hint": ("所选日期内每次限电对每块表做了什么（按开始与结束时间重叠）",
                         "What each run did to each meter over the chosen days (runs overlapping them)"),
    "load_restore": ("恢复", "Restore"), "load_restore_restored": ("已恢复", "Restored"),
    "load_restore_left": ("未恢复（已由他人控制或无原值）", "Left (someone else controls it, or nothing to restore)"),
    "load_meters": ("限电表计", "Meters limited"), "load_exempt": ("保电免限", "Exempt (held)"),
    "load_none": ("无", "None"), "load_run_confirm": ("确认执行", "Run it"),
    "load_runs": ("限电记录", "Runs"), "load_plan": ("方案", "Plan"), "load_plans": ("限电方案", "Plans"),
    "load_start": ("开始", "Start"), "load_end": ("结束", "End"), "load_limit_w": ("限值(W)", "Limit (W)"),
    "load_limited_count": ("已限电表数", "Meters limited"), "load_end_now": ("立即结束", "End now"),
    "load_end_q": ("立即结束并恢复这些表计的限值？", "End now and restore these meters' limits?"),
    "load_no_runs": ("尚无限电记录", "No runs yet"), "load_no_plans": ("尚无限电方案", "No plans yet"),
    "load_minutes": ("时长(分钟)", "Minutes"), "load_minutes_unit": ("分钟", "min"),
    "load_run": ("执行限电", "Run"), "load_edit": ("修改", "Edit"), "load_new_plan": ("新建方案", "New plan"),
    "load_plan_name": ("方案名称", "Plan name"), "load_categories": ("用电性质", "Load categories"),
    "load_category": ("用电性质", "Load category"), "load_key": ("代码", "Key"),
    "load_protected": ("重要负荷（不限电）", "Important (never limited)"),
    "load_category_hint": ("代码用小写字母、数字和下划线；同一代码再次保存即改名。",
                           "Keys are lower-case letters, digits and underscores; saving a key again renames it."),
    "load_category_none": ("未分类", "None"),
    "load_run_scheduled": ("待执行", "Scheduled"), "load_run_active": ("限电中", "Active"),
    "load_run_ended": ("已结束", "Ended"),
    "load_previous_w": ("原限值(W)", "Limit before (W)"), "load_outcome": ("结果", "Outcome"),
    "load_limited_at": ("限电时间", "Limited at"), "load_restored_w": ("恢复限值(W)", "Restored to (W)"),
    "load_restored_at": ("恢复时间", "Restored at"),
    "load_outcome_limited": ("已限电（已回读）", "Limited (read back)"),
    "load_outcome_pending": ("未到达（离线或拒绝，重试中）", "Not reached (offline or refused; retried)"),
    "load_outcome_exempt_hold": ("保电免限", "Exempt: held"),
    "err_load_minutes": ("时长须为 1 至 10080 分钟的整数", "Minutes: a whole number from 1 to 10,080"),
    "err_load_watts": ("限值须为 1 至 65535 W 的整数", "The limit is a whole number of watts, 1 to 65,535"),
    "act_load_category": ("修改用电性质类别", "Changed a load category"),
    "act_load_plan": ("修改限电方案", "Changed a load-limiting plan"),
    "act_load_run": ("执行限电", "Ran load limiting"), "act_load_run_confirm": ("执行限电", "Ran load limiting"),
    "act_load_end": ("结束限电", "Ended load limiting"), "act_load_export": ("导出限电记录", "Exported a load-limiting run"),
    "act_meter_category": ("修改表计用电性质", "Changed a meter's load category"),
    "act_account_category": ("修改账户用电性质", "Changed an account's load category"),
    "account_category": ("账户用电性质", "Account's load category"),
    "account_category_hint": ("本户电表未单独设置用电性质时按此限电。", "Meters of this account without a category of "
                              "their own are limited as this one."),
}
