"""SMS-SUBMIT encoding against published vectors, and splitting by the ModemManager rule."""
from __future__ import annotations

import pytest

from integrations.sms_modem.pdu import (
    GSM7_BASIC,
    PduError,
    decode_status_report,
    decode_submit,
    encode_submit,
)


def test_worked_chinese_vector_byte_exact() -> None:
    """payments_sms.md S10 (ppmy.cn): 工作愉快！ to +8613902433649 via SMSC +8613800100500, FO 11, VP 00."""
    [pdu] = encode_submit("+8613902433649", "工作愉快！", smsc="+8613800100500", validity=0)
    assert pdu.hex == "0891683108100005F011000D91683109423346F90008000A5DE54F5C61095FEBFF01"
    assert pdu.tpdu_length == 25  # AT+CMGS=25: the SMSC part is not counted


def test_seven_bit_vector_and_cmgs_length() -> None:
    """payments_sms.md S10 (9cbs): 'hello' packs to E8 32 9B FD 06 and AT+CMGS=17 without the SMSC octet."""
    [pdu] = encode_submit("1234567", "hello", validity=0xAA)
    assert pdu.hex == "0011000781214365F70000AA05E8329BFD06"
    assert pdu.tpdu_length == 17


def test_decoder_reads_a_vendor_pdu() -> None:
    """Huawei MU509 manual example: 华为 to 13901000453 as UCS2 flash (DCS 18), reply-path first octet 81."""
    fields = decode_submit("0081000B813109010054F3001804534E4E3A")
    assert fields["number"] == "13901000453"
    assert fields["dcs"] == 0x18
    assert fields["text"] == "华为"


def test_status_report_vector() -> None:
    """faucamp/python-gsmmodem#44: the +CDS after +CMGS: 64 reports message reference 64 delivered."""
    report = decode_status_report("079119890400202306400C91197909913764511090718384225110907183252200")
    assert report["mr"] == 64
    assert report["status"] == 0
    assert report["outcome"] == "delivered"
    assert report["recipient"] == "+919790197346"


def test_gsm_alphabet_has_128_characters() -> None:
    assert len(GSM7_BASIC) == 128


def test_long_chinese_splits_into_linked_parts_of_67() -> None:
    text = "".join(chr(0x4E00 + i) for i in range(150))
    pdus = encode_submit("+8613800138000", text, reference=0x5A)
    assert [p.part for p in pdus] == [1, 2, 3]
    decoded = [decode_submit(p.hex) for p in pdus]
    assert [len(d["text"]) for d in decoded] == [67, 67, 16]
    assert {d["concat"]["reference"] for d in decoded} == {0x5A}
    assert [d["concat"]["seq"] for d in decoded] == [1, 2, 3]
    assert all(d["concat"]["total"] == 3 and d["dcs"] == 0x08 for d in decoded)
    assert decoded[0]["udl"] == 6 + 67 * 2 == 140
    assert "".join(d["text"] for d in decoded) == text


@pytest.mark.parametrize(("length", "parts"), [(70, 1), (71, 2), (134, 2), (135, 3)])
def test_ucs2_limits(length: int, parts: int) -> None:
    assert len(encode_submit("10086", "电" * length)) == parts


@pytest.mark.parametrize(("length", "parts"), [(160, 1), (161, 2), (306, 2), (307, 3)])
def test_gsm7_limits(length: int, parts: int) -> None:
    pdus = encode_submit("10086", "a" * length)
    assert len(pdus) == parts
    assert all(decode_submit(p.hex)["dcs"] == 0x00 for p in pdus)


def test_ascii_goes_seven_bit_and_round_trips_with_udh_fill_bits() -> None:
    text = "Meter B1-F3-0301: balance 12.34 yuan {low} [alarm] ~ ^ | \\ EUR€ " * 4
    pdus = encode_submit("+8613800138000", text, reference=7)
    decoded = [decode_submit(p.hex) for p in pdus]
    assert all(d["dcs"] == 0x00 for d in decoded)
    assert all(d["udl"] <= 160 for d in decoded)
    assert "".join(d["text"] for d in decoded) == text


def test_surrogate_pairs_are_never_split() -> None:
    text = "余额" + "😀" * 40
    pdus = encode_submit("+8613800138000", text)
    decoded = [decode_submit(p.hex)["text"] for p in pdus]
    assert "".join(decoded) == text


def test_status_report_request_sets_srr_and_validity() -> None:
    [pdu] = encode_submit("+8613800138000", "hi", validity=0xA7, status_report=True)
    fields = decode_submit(pdu.hex)
    assert fields["first_octet"] == 0x31
    assert fields["validity"] == 0xA7
    assert fields["status_report"] is True


def test_bad_number_is_refused() -> None:
    with pytest.raises(PduError):
        encode_submit("138-0013", "hi")


def test_decoder_reads_a_sixteen_bit_reference_udh() -> None:
    """IEI 08 (16-bit reference, payments_sms.md §2.3): 06 08 04 refH refL total seq, then UTF-16BE."""
    fields = decode_submit("00" + "4100" + "0B813108108300F0" + "0008" + "0B" + "06080412340201" + "4F60597D")
    assert fields["number"] == "13800138000"
    assert fields["concat"] == {"reference": 0x1234, "total": 2, "seq": 1}
    assert fields["text"] == "你好"
