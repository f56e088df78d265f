"""Messages of roles and permissions, and of the buildings an operator is kept to."""
from __future__ import annotations

from typing import Final

# key: (zh-CN, en)
MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "roles": ("角色与权限", "Roles and permissions"),
    "roles_hint": ("三个固定角色不可修改；自定义角色可勾选权限。限定楼栋的操作员不能管理操作员、不能查看审计日志，也不能修改全站设置。",
                   "The three fixed roles cannot be changed; a named role gets the permissions ticked. An operator "
                   "kept to buildings never manages operators, reads the audit log or changes site-wide settings."),
    "role_fixed": ("固定", "fixed"), "role_label": ("角色名称", "Role name"),
    "role_name": ("角色代码", "Role key"),
    "role_name_rule": ("小写字母开头，2–16 位小写字母、数字或下划线", "2–16 lower-case letters, digits or _, a letter first"),
    "add_role": ("新增角色", "Add a role"), "permissions": ("权限", "Permissions"), "delete": ("删除", "Delete"),
    "col_buildings": ("负责楼栋", "Buildings"),
    "buildings_hint": ("不勾选 = 全部楼栋", "none ticked = every building"),
    "err_buildings": ("无效楼栋", "Unknown building"),
    "err_role_fixed": ("固定角色不能修改或删除", "A fixed role cannot be changed or deleted"),
    "err_role_name": ("角色代码无效(小写字母开头，2–16 位小写字母、数字或下划线)",
                      "Invalid role key (2–16 lower-case letters, digits or _, a letter first)"),
    "err_role_label": ("请填写角色名称(最多 64 字)", "The role needs a name (at most 64 characters)"),
    "err_no_role": ("没有这个角色", "No such role"),
    "err_role_in_use": ("仍有操作员使用该角色，不能删除", "Operators still hold this role: it cannot be deleted"),
    "act_role_save": ("保存角色权限", "Saved a role's permissions"), "act_role_delete": ("删除角色", "Deleted a role"),
    "attr_buildings": ("负责楼栋", "Buildings"), "attr_permissions": ("权限", "Permissions"),
    "perm_refund": ("退费", "refund"), "perm_reverse": ("冲正", "reverse"), "perm_batch": ("批量遥控", "batch control"),
    "perm_prices": ("电价", "prices"), "perm_settings": ("设置", "settings"), "perm_reports": ("报表与导出", "reports"),
    "perm_building": ("其他楼栋", "another building"),
}
