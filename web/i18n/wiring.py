"""Messages of the wiring page (电表和通讯管理机导入): the workbook, its dry run, apply, export and removal."""
from __future__ import annotations

from typing import Final

MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "wiring_title": ("电表和通讯管理机（导入与导出）", "Meters and serial servers (import and export)"),
    "wiring_intro": ("用一个工作簿建楼：「通讯管理机」和「电表」两张表。先预检，逐行列出问题；确认后立即生效，"
                     "无需重启，电表随即开始抄读。配置文件（YAML）声明的接线在此只读；导入的可在此修改或删除。",
                     "Set up a building from one workbook with two sheets, serial servers and meters. The dry run "
                     "names every problem by row; once confirmed it applies at once, without a restart, and the "
                     "meters start polling. Wiring declared in YAML is read-only here; imported wiring can be "
                     "edited or removed here."),
    "wiring_template": ("下载导入模板（.xlsx）", "Download the template (.xlsx)"),
    "wiring_export": ("导出当前接线（.xlsx）", "Export the current wiring (.xlsx)"),
    "wiring_upload": ("上传工作簿", "Upload a workbook"),
    "wiring_problems": ("问题", "Problems"), "wiring_no_problems": ("没有问题。", "No problems."),
    "wiring_sheet": ("工作表", "Sheet"), "wiring_column": ("列", "Column"), "wiring_reason": ("原因", "Reason"),
    "wiring_will_add": ("确认后将新增 {gateways} 台通讯管理机、{meters} 块电表，修改 {moved} 台已导入的通讯管理机、"
                        "{changed} 块已导入的电表（与现有相同的行跳过）。",
                        "Applying adds {gateways} serial servers and {meters} meters and edits {moved} imported "
                        "serial servers and {changed} imported meters (rows matching what is in force are skipped)."),
    "wiring_apply": ("确认导入", "Apply"),
    "wiring_applied": ("已导入 {gateways} 台通讯管理机、{meters} 块电表，修改 {moved} 台通讯管理机（已按新地址重连，"
                       "电表不变）、{changed} 块电表，已开始抄读。",
                       "Imported {gateways} serial servers and {meters} meters, edited {moved} serial servers "
                       "(reconnected at their new address, meters kept) and {changed} meters; they are polling now."),
    "wiring_edit": ("修改", "Edit"), "wiring_save": ("保存并重连", "Save and reconnect"),
    "wiring_label": ("名称", "Label"), "wiring_host": ("主机", "Host"), "wiring_port": ("端口", "Port"),
    "wiring_baudrate": ("波特率", "Baud rate"),
    "wiring_run_dry_run": ("请先上传工作簿并预检（预检结果只保留一次确认）。",
                           "Upload the workbook and run the dry run first (a dry run is confirmed once)."),
    "wiring_changed_since": ("预检之后接线已有变化，请按下列问题修改后重新预检。",
                             "The wiring changed since the dry run; fix the problems below and run it again."),
    "wiring_removed": ("已删除 {name}。", "Removed {name}."),
    "wiring_read_only": ("配置文件（YAML）声明的接线只读，请在配置文件中修改。",
                         "Wiring declared in YAML is read-only; change it in the configuration."),
    "wiring_gateway_has_meters": ("该通讯管理机上还有电表，请先删除这些电表。",
                                  "This serial server still carries meters; remove them first."),
    "wiring_meter_has_account": ("该电表已开户，请先销户再删除。",
                                 "This meter has an open account; close the account before removing it."),
    "wiring_no_modbus": ("未配置 modbus，无法导入接线。", "modbus is not set up; wiring cannot be imported."),
    "wiring_source": ("来源", "Source"), "wiring_source_yaml": ("配置文件", "YAML"),
    "wiring_source_imported": ("导入", "Imported"), "wiring_remove": ("删除", "Remove"),
    "wiring_mode": ("模式", "Mode"), "wiring_address": ("地址", "Address"), "wiring_bus": ("总线", "Bus"),
    "wiring_model": ("型号", "Model"), "wiring_category": ("用电性质", "Category"),
    "act_wiring_import": ("导入电表和通讯管理机", "Imported meters and serial servers"),
    "act_wiring_export": ("导出接线", "Exported the wiring"),
    "act_wiring_remove_meter": ("删除导入的电表", "Removed an imported meter"),
    "act_wiring_remove_gateway": ("删除导入的通讯管理机", "Removed an imported serial server"),
}
