"""User-facing texts of the tenant pages and the kiosk (zh-CN default, en)."""
from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "zh-CN": {
        "title": "电费自助", "login": "登录", "account_no": "户号", "password": "密码", "phone": "手机号",
        "code": "验证码", "send_code": "发送验证码", "login_code": "验证码登录", "logout": "退出",
        "bad_login": "户号或密码错误", "bad_code": "验证码错误或已过期", "code_sent": "验证码已发送",
        "code_day_sends": "该手机号今天获取验证码的次数已达上限，请明天再试或使用户号和密码登录",
        "code_day_wrong": "该手机号今天输错验证码的次数过多，请明天再试或使用户号和密码登录",
        "bad_form": "表单已失效或来源不明，请刷新页面后重试",
        "balance": "余额", "yuan": "元", "meters": "电表", "remaining": "剩余金额", "status": "状态",
        "power": "功率", "relay": "继电器", "relay_closed": "合闸", "relay_open": "拉闸", "close_relay": "远程合闸",
        "staff_held": "物业已强制控制此表（强制拉闸或保电），无法远程合闸，请联系物业",
        "daily": "近30天每日用电", "monthly": "本年每月用电", "history": "购电记录", "receipt": "收据",
        "topup": "在线充值", "pay_with": "支付方式", "provider_alipay": "支付宝", "provider_wechatpay": "微信支付", "amount": "金额（元）",
        "bad_amount": "金额须为数字，最多两位小数，如 50 或 50.00", "pay": "去支付", "paying": "等待支付结果…",
        "paid": "充值成功", "closed": "订单已关闭", "back": "返回", "no_history": "暂无记录",
        "kiosk_title": "自助缴费终端", "pick_shop": "请输入房间号或户号，或扫描商铺码", "scan_hint": "房间号 / 户号",
        "by_room": "按房间号查找", "by_account": "按户号查找", "ambiguous_shop": "该房间号对应多个商铺，请按户号查找",
        "verify": "请先验证身份再查看余额", "verify_password": "用密码验证", "verify_code": "用手机验证码验证",
        "send_code_to": "发送验证码到该商铺登记的手机", "no_check": "该商铺未设置密码或手机号，请到物业服务台办理",
        "verify_go": "验证", "bad_password": "密码错误", "kiosk_device": "此页面只能在大堂自助终端上使用",
        "scan_to_pay": "请扫码支付",
        "scan_to_pay_alipay": "请用支付宝扫码支付", "scan_to_pay_wechatpay": "请用微信扫码支付", "print": "打印收据", "done": "完成",
        "order": "订单号", "time": "时间", "method": "方式", "forbidden": "无权访问",
        "unknown_shop": "未找到该商铺", "idle": "无操作将自动退出", "kind_sale": "售电收据",
        "tx_sale": "购电", "tx_refund": "退电", "tx_reversal": "冲正", "tx_transfer": "转移", "tx_consumption": "扣费",
        "tx_fee": "月费", "tx_opening": "开户", "tx_adjustment": "调整", "tx_close": "销户",
    },
    "en": {
        "title": "Electricity self-service", "login": "Log in", "account_no": "Account no.", "password": "Password",
        "phone": "Phone", "code": "Code", "send_code": "Send code", "login_code": "Log in with code",
        "logout": "Log out", "bad_login": "Wrong account number or password", "bad_code": "Wrong or expired code",
        "code_day_sends": "This phone has had as many codes as allowed today; try tomorrow or log in with the password",
        "code_day_wrong": "Too many wrong codes for this phone today; try tomorrow or log in with the password",
        "bad_form": "This form expired or came from another site; reload the page and try again",
        "code_sent": "Code sent", "balance": "Balance", "yuan": "CNY", "meters": "Meters",
        "remaining": "Remaining", "status": "Status", "power": "Power", "relay": "Relay",
        "relay_closed": "on", "relay_open": "off", "close_relay": "Switch on",
        "staff_held": "Building staff control this meter (forced off or hold): it cannot be switched on here; "
        "please contact them", "daily": "Daily use, last 30 days",
        "monthly": "Monthly use this year", "history": "Purchases", "receipt": "Receipt", "topup": "Top up online",
        "pay_with": "Pay with", "provider_alipay": "Alipay", "provider_wechatpay": "WeChat Pay",
        "amount": "Amount (CNY)",
        "bad_amount": "The amount must be digits with at most two decimals, e.g. 50 or 50.00",
        "pay": "Pay", "paying": "Waiting for the payment…", "paid": "Top-up done",
        "closed": "Order closed", "back": "Back", "no_history": "Nothing yet", "kiosk_title": "Self-service kiosk",
        "pick_shop": "Type your room or account number, or scan your shop's code", "scan_hint": "Room / account no.",
        "by_room": "Find by room", "by_account": "Find by account no.",
        "ambiguous_shop": "Several shops have this room number; find yours by account number",
        "verify": "Prove it is your shop to see the balance", "verify_password": "With the password",
        "verify_code": "With a code to your phone", "send_code_to": "Send a code to the shop's registered phone",
        "no_check": "This shop has no password or phone yet; please ask the management office",
        "verify_go": "Check", "bad_password": "Wrong password", "kiosk_device": "This page works on the lobby kiosk only",
        "scan_to_pay": "Scan to pay",
        "scan_to_pay_alipay": "Scan with Alipay to pay", "scan_to_pay_wechatpay": "Scan with WeChat to pay", "print": "Print receipt", "done": "Done", "order": "Order",
        "time": "Time", "method": "Method", "forbidden": "Not allowed", "unknown_shop": "No such shop",
        "idle": "Logs out when idle", "kind_sale": "Sale receipt",
        "tx_sale": "Purchase", "tx_refund": "Refund", "tx_reversal": "Reversal", "tx_transfer": "Transfer",
        "tx_consumption": "Charge", "tx_fee": "Monthly fee", "tx_opening": "Opening", "tx_adjustment": "Adjustment",
        "tx_close": "Closing",
    },
}


def texts(language: str) -> dict[str, str]:
    """Return the texts of ``language`` (zh-CN when unknown)."""
    return TEXTS.get(language, TEXTS["zh-CN"])
