"""Messages of the account page's tenant login card (staff give a shop its phone login)."""
from __future__ import annotations

from typing import Final

# key: (zh-CN, en)
MESSAGES: Final[dict[str, tuple[str, str]]] = {
    "tenant_login": ("租户手机登录", "Tenant phone login"),
    "tenant_login_now": ("当前", "Now"),
    "tenant_login_phone": ("登录手机", "Login phone"),
    "tenant_has_password": ("已设密码", "password set"), "tenant_no_password": ("未设密码", "no password"),
    "tenant_sms_on": ("接收短信提醒", "takes SMS alerts"), "tenant_sms_off": ("已关闭短信提醒", "SMS alerts off"),
    "tenant_new_password": ("新密码(留空=不变)", "New password (empty = unchanged)"),
    "tenant_generate": ("生成随机密码", "Generate a password"),
    "tenant_may_switch": ("允许租户自行合闸", "Tenant may switch its meters on"),
    "tenant_send_first_code": ("保存后向该手机发送验证码", "Send a one-time code to the phone after saving"),
    "tenant_login_hint": ("租户用户号(账户号)和密码，或手机验证码登录：", "The tenant logs in with the account number "
                          "and password, or the phone and a one-time code, at:"),
    "tenant_password_once": ("初始密码(只显示这一次，请当面告知租户)：", "Initial password (shown this once; "
                             "hand it to the tenant):"),
    "tenant_pages_off": ("租户自助页面未启用(需配置支付宝或微信支付)", "The tenant pages are off (they come with "
                         "Alipay or WeChat Pay)"),
    "tenant_login_closed": ("账户已销户，不能设置登录", "The account is closed: no login can be set"),
    "tenant_password_or_generate": ("请输入密码或选择生成随机密码，不能同时", "Type a password or generate one, "
                                    "not both"),
    "tenant_send_needs_phone": ("发送验证码需要填写手机号", "Sending a code needs the phone number"),
    "code_day_sends": ("该手机号今天获取验证码的次数已达上限", "This phone has had as many codes as allowed today"),
    "act_tenant_login": ("设置租户登录", "Set a tenant login"),
    # the audited fields of a tenant login change
    "attr_has_password": ("已设密码", "Password set"), "attr_password_change": ("密码", "Password"),
    "attr_tenant_control": ("允许租户合闸", "Tenant may switch on"), "attr_sms_alerts": ("短信提醒", "SMS alerts"),
    "attr_code_sent": ("发送验证码", "Code sent"),
    "password_change_generated": ("已生成新密码", "a new one generated"), "password_change_set": ("已重设", "reset"),
}
