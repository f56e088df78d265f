"""Every PROPOSED (unsourced) DTSY1352 choice in one place (shared/dtsy1352.md §9); correct from a real manual.

Register addresses and scales live in the device profile (integrations/modbus/profiles/dtsy1352.yaml);
the ones marked PROPOSED there are listed in ``PROFILE_CHOICES`` below so this file stays the single index.
"""
from __future__ import annotations

from typing import Final

# --- serial line (§1) ---
FACTORY_ADDRESS: Final = 1
FACTORY_BAUDRATE: Final = 9600
FACTORY_PARITY: Final = "N"
FACTORY_STOPBITS: Final = 1
TURNAROUND_MS: Final = 20  # slave processing time before replying (the vendor tool waits 20 ms after writes)

# --- units (§9.2) ---
MONEY_UNIT_FEN: Final = 1  # money and thresholds in 0.01 CNY (1 fen), int32, negative = overdraft
PRICE_SCALE: Final = 10000  # prices in 0.0001 CNY/kWh: raw 10000 = 1.0000 yuan/kWh
PMAX_UNIT: Final = "W"  # PMAX (0x0061) in watts, writable with FC10 (the tool uses factory FC 0xAA)
PF_SCALE: Final = 0.001

# --- FC 0x20 (§3, §4, §9.3) ---
ACREL_FUNCTION_CODE: Final = 0x20
CMD_PURCHASE: Final = 0x0100
CMD_PREPAID_SETTINGS: Final = 0x0200
CMD_LOAD_CONTROL_L1: Final = 0x0400
PURCHASE_DATA_BYTES: Final = 8  # [amount u32][new purchase count u16][0x0000]
SETTINGS_DATA_BYTES: Final = 60
# Reply (invented, 15 bytes on the wire): addr, 0x20, byte count 0x0A, command u16, quantity u16,
# result u8, purchase count after u16, 3 reserved bytes, CRC.
REPLY_BYTE_COUNT: Final = 0x0A
REPLY_FRAME_SIZE: Final = 15
RESULT_OK: Final = 0
RESULT_BAD_PURCHASE_COUNT: Final = 1
RESULT_BAD_KEY: Final = 2
RESULT_TEXT: Final = {
    RESULT_OK: "ok",
    RESULT_BAD_PURCHASE_COUNT: "purchase count is not the meter's last + 1",
    RESULT_BAD_KEY: "bad key or cipher",
}
# A sale must carry the stored purchase count + 1, else it is refused and the balance is unchanged.
PURCHASE_RULE_STRICT: Final = True
# §9.3 and §9.4 disagree on how a mismatch is signalled: a result code in the reply (chosen) or exception 0x03.
PURCHASE_MISMATCH_AS_EXCEPTION: Final = False
# Only the master's FC 0x20 request is enciphered; the 15-byte reply is plain.
REPLIES_ENCIPHERED: Final = False

# --- exception codes (§9.4) ---
EXC_ILLEGAL_FUNCTION: Final = 0x01  # unsupported function code
EXC_ILLEGAL_ADDRESS: Final = 0x02  # address outside the map
EXC_ILLEGAL_VALUE: Final = 0x03  # bad quantity (and a purchase-count mismatch, when signalled as exception)

# --- forced control 0x0057/0x0058 (§4) ---
CONTROL_REGISTER: Final = 0x0057
CONTROL_TRIP: Final = (1, 1)  # forced off
CONTROL_HOLD: Final = (1, 0)  # forced close, 保电
CONTROL_RELEASE: Final = (0, 0)  # back to prepaid logic (inferred from 强控关)

# --- relay logic (§9.5) ---
TRIP_AT_MINUS_OVERDRAFT: Final = True  # trip when remaining <= -overdraft (0x004A) unless on hold
ALARM_WHEN_AT_OR_BELOW: Final = True  # ALM1/ALM2 when remaining <= alarm1/alarm2; arrears when remaining <= 0
OVERLOAD_TRIPS: Final = True  # power above PMAX opens the relay until the recovery time has passed
OVERLOAD_RECOVERY_S: Final = 60  # default recovery time (0x0418) in seconds
STATUS_FORCED_TRIPPED: Final = 0x07  # status B b0-b2 set for all three circuits when forced off

# --- factory defaults of a fresh simulated meter ---
FACTORY_PRICE: Final = 10000  # the tool's default price field
FACTORY_ALARM1_FEN: Final = 2000
FACTORY_ALARM2_FEN: Final = 500
FACTORY_OVERDRAFT_FEN: Final = 0
FACTORY_PMAX_W: Final = 30000
METER_TYPE_DTSY1352: Final = 5

# --- TOU table 0x2000 (§2.2): 14 × [rate, minute, hour] bytes; rate codes ---
TOU_SLOTS: Final = 14
RATE_CODES: Final = {1: "sharp", 2: "peak", 3: "flat", 4: "valley"}
TOU_BYTE_ORDER: Final = ("rate", "minute", "hour")

# --- frame cipher (§4) ---
TEA_ROUNDS: Final = 16
TEA_DELTA: Final = 0x9E3779B9
TEA_INITIAL_KEY: Final = (0x6163, 0x7265, 0x6C33, 0x3231)  # ASCII "acrel321"
# PROPOSED details of the 16-bit TEA: words big-endian, shifts 4 and 5, all sums mod 2**16
# (so the delta acts as 0x79B9), key words k0,k1 for the first half and k2,k3 for the second.
TEA_WORD_BYTE_ORDER: Final = "big"
TEA_SHIFTS: Final = (4, 5)

# --- register choices kept in the profile YAML (for the index) ---
PROFILE_CHOICES: Final = {
    "remaining_fen": "0x021F s32 in fen (sign from the tool's arithmetic, unit PROPOSED)",
    "frequency": "0x0077 u16 ×0.01 Hz (DTSD1352 address, not sourced for DTSY); optional: a meter "
    "refusing it stays online",
    "relay": "status A b5-b7 all set = closed",
    "prepaid_mode": "status B b3 = forced control active; b0-b2 set = forced off, clear = hold",
    "price_*": "0.0001 CNY/kWh",
    "overload_w": "0x0061 PMAX in W, FC10 writable",
}
