"""Messages of the energy report (能耗报表): its columns, subtotals and how its cost is derived."""
from __future__ import annotations

from typing import Final

# key: (zh-CN, en)
MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "col_unsplit": ("未分时(kWh)", "Unsplit (kWh)"), "col_cost": ("电费(元)", "Cost (yuan)"),
    "subtotal": ("小计", "subtotal"),
    "energy_summary": ("分组汇总", "Totals per group"), "energy_detail": ("明细", "Detail"),
    "energy_note": (
        "尖、峰、平、谷电量取自表计各费率电能计数器的日增量；某天的读数未全部带有某费率计数器（或在保留分时之前汇总的旧数据）"
        "时，该部分计入“未分时”：未分时 = 总电量 − 已知各费率电量之和。电费为计费系统在该期间为该表实际记入的用电扣费："
        "服务端计费的表按每次读数的电量、以读数时刻生效的电价计费；表端计费的表按表内剩余金额的减少在同步时记入；不含月费。",
        "Sharp, peak, flat and valley energy is the daily growth of the meter's own rate counters; where a "
        "day's readings did not all carry a rate's counter (or the day was rolled up before the split was kept), "
        "that use is \"unsplit\": unsplit = total − the rates known. Cost is the consumption billing actually "
        "charged the meter in the period: server-side meters per reading, at the price in force at the reading's "
        "time; meter-side meters by the drop in the meter's own money, when it is synced; monthly fees not "
        "included."),
    "energy_more": ("页面只显示前 {0} 行明细，完整明细请导出 Excel。",
                    "The page shows the first {0} detail lines; export to Excel for all of them."),
}
