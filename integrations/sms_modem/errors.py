"""Errors of the modem dialogue, with +CMS ERROR codes (TS 27.005 §3.2.5) mapped to clear causes."""
from __future__ import annotations

from scada_core.exceptions import OpenPrepayError

# code -> (zh-CN, en)
CMS_CAUSES: dict[int, tuple[str, str]] = {
    21: ("短信被网络拒收", "short message transfer rejected"),
    27: ("目的号码不可用", "destination out of service"),
    38: ("网络故障", "network out of order"),
    41: ("网络临时故障", "temporary network failure"),
    42: ("网络拥塞", "network congestion"),
    50: ("SIM 卡未开通短信业务或已欠费", "SMS not subscribed on this SIM (or the SIM is in arrears)"),
    300: ("模块故障", "modem (ME) failure"),
    301: ("短信服务被保留", "SMS service of the modem reserved"),
    302: ("操作不被允许", "operation not allowed"),
    303: ("操作不被支持", "operation not supported"),
    304: ("PDU 参数无效（号码格式或模块不支持 UDH）", "invalid PDU mode parameter (number format, or the modem rejects a UDH)"),
    305: ("文本模式参数无效", "invalid text mode parameter"),
    310: ("未插入 SIM 卡", "SIM not inserted"),
    311: ("SIM 卡需要 PIN 码", "SIM PIN required"),
    313: ("SIM 卡故障", "SIM failure"),
    314: ("SIM 卡忙", "SIM busy"),
    320: ("存储器故障", "memory failure"),
    321: ("存储索引无效", "invalid memory index"),
    322: ("存储器已满", "memory full"),
    330: ("短信中心号码未知（请设置 AT+CSCA）", "SMSC address unknown (set it with AT+CSCA)"),
    331: ("无网络服务", "no network service"),
    332: ("网络超时", "network timeout"),
    340: ("无需 CNMA 确认", "no +CNMA acknowledgement expected"),
    500: ("未知错误", "unknown error"),
}
# Worth another try later (§2.6); everything else needs someone to fix something first.
CMS_RETRYABLE = frozenset({21, 27, 38, 41, 42, 300, 314, 331, 332, 500})


def cms_cause(code: int, language: str = "zh-CN") -> str:
    """Return the cause of +CMS ERROR ``code`` in ``language`` (zh-CN or en)."""
    zh, en = CMS_CAUSES.get(code, ("", ""))
    if not zh:
        if code < 128:
            zh, en = f"网络拒绝（RP 原因 {code}）", f"rejected by the network (RP cause {code})"
        elif code < 256:
            zh, en = f"短信中心拒绝（TP 原因 {code}）", f"rejected by the SMS centre (TP cause {code})"
        else:
            zh, en = "未知错误", "unknown error"
    return en if language == "en" else zh


class ModemError(OpenPrepayError):
    """Something went wrong talking to the modem."""

    retryable = True


class ModemTimeout(ModemError):
    """The modem did not answer in time."""


class ModemNotReady(ModemError):
    """The modem is closed, offline or not registered on the network."""


class SendUnconfirmed(ModemError):
    """The PDU went to the modem but its +CMGS never came: the network may have taken it, so it is never resent."""

    retryable = False


class AtCommandError(ModemError):
    """The modem answered ERROR or +CME ERROR."""

    def __init__(self, command: str, reply: str) -> None:
        super().__init__(f"{command}: {reply}")
        self.command = command
        self.reply = reply


class CmsError(ModemError):
    """The modem answered +CMS ERROR: <code>."""

    def __init__(self, code: int) -> None:
        self.code = code
        self.retryable = code in CMS_RETRYABLE
        super().__init__(f"+CMS ERROR: {code} ({cms_cause(code, 'en')} / {cms_cause(code)})")

    def cause(self, language: str = "zh-CN") -> str:
        """Return the cause in ``language``."""
        return cms_cause(self.code, language)
