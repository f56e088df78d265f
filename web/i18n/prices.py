"""Messages of the prices and limits page (价格与限值): tariff versions, the 24-hour strip, effective times."""
from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "nav_prices": ("价格与限值", "Prices & limits"),
    "prices_edit_there": ("电价、报警金额和限值在「价格与限值」页修改（带生效时间）",
                          "Change tariffs, alarm levels and limits on the Prices & limits page (with an effective time)"),
    "prices_intro": ("修改从所选时间起生效，并记入审计日志。立即生效的修改随即作为批量任务下发到预付费表（电价下发/设置下发）；"
                     "以后生效的修改到时自动下发，每轮对账也会补发。",
                     "A change takes effect from the chosen time and is audited. One in force now is pushed to the "
                     "prepaid meters at once as a tracked batch; a later one is pushed when it takes effect, and "
                     "every reconciler round pushes what a meter still lacks."),
    "prices_yaml_note": ("初始值来自配置文件的 billing 部分（修改人显示为「配置文件」）；此页新增的版本优先，"
                         "配置文件里的值改动后会在下次启动时生成一个新版本。",
                         "The first values come from the configuration's billing section (made by: Configuration); "
                         "versions added here win, and a changed configuration starts a new version at the next start."),
    "tariff_now": ("当前电价", "Tariff in force"), "tariff_new": ("新电价", "New tariff"),
    "policy_now": ("当前报警与限值", "Alarm levels and limits in force"), "policy_new": ("新报警与限值", "New alarm levels and limits"),
    "versions": ("版本", "Versions"), "made_by_config": ("配置文件", "Configuration"), "effective_at": ("生效时间", "Takes effect"), "made_by": ("修改人", "By"),
    "pending_version": ("待生效", "upcoming"), "in_force_version": ("生效中", "in force"), "old_version": ("已过期", "superseded"),
    "effective_now_hint": ("留空表示立即生效", "Empty: now"), "next_monday": ("下周一 00:00", "Next Monday 00:00"),
    "hour_strip": ("24 小时时段（点击格子切换，或先选费率再拖动）", "24 hours (click a cell to cycle, or pick a rate and drag)"),
    "seasons_kept": ("季节时段沿用当前电价", "Seasonal tables are kept from the tariff in force"),
    "band_kwh": ("本档上限(kWh)", "Up to (kWh)"), "band_price": ("电价(元/kWh)", "Price (yuan/kWh)"),
    "band_rest_hint": ("最后一档不填上限", "Leave the last band's limit empty"),
    "per_period": ("阶梯周期", "Tier period"), "meter_override": ("单表电价（房号或名称，留空=整栋楼）", "One meter (room or name; empty = the whole building)"),
    "meter_overrides": ("单表电价", "Meter tariffs"),
    "empty_none": ("留空=不限", "Empty = none"), "overdraft_new_accounts": ("透支额度用于新开户；已开户账户在账户页修改",
                                                                     "The overdraft applies to accounts opened from then on; change an open account's on its page"),
    "save_tariff": ("保存电价", "Save tariff"), "save_policy": ("保存报警与限值", "Save alarm levels and limits"),
    "prices_scheduled": ("已保存，将于 {when} 生效并自动下发", "Saved; takes effect at {when} and is pushed then"),
    "prices_in_force": ("已保存并生效（没有需要下发的预付费表）", "Saved and in force (no prepaid meter to push to)"),
    "err_price": ("电价须为 0 至 1000 元/kWh，最多 4 位小数", "A price is 0 to 1000 yuan/kWh with at most 4 decimals"),
    "err_hours": ("每个小时都要选择费率", "Choose a rate for every hour"),
    "err_band": ("阶梯须从低到高填写上限，最后一档不填上限", "Tiers need rising limits and no limit on the last band"),
    "err_kind": ("请选择计价方式", "Choose a kind of tariff"),
    "err_limit_amount": ("金额须为 0 或正数，最多 2 位小数", "An amount is 0 or more with at most 2 decimals"),
    "err_watts": ("功率须为 1 至 10000000 W 的整数", "A power limit is a whole number of watts, 1 to 10,000,000"),
    "err_effective": ("生效时间格式不对", "The effective time is not a date and time"),
    "err_effective_past": ("生效时间不能早于现在", "The effective time cannot be in the past"),
    "err_meter_unknown": ("找不到这块表（或不止一块符合）", "No single meter matches"),
    "attr_effective_ts": ("生效时间", "Takes effect"), "attr_tariff": ("电价", "Tariff"),
    "act_tariff_set": ("修改电价", "Changed a tariff"), "act_policy_set": ("修改报警与限值", "Changed alarm levels and limits"),
}
