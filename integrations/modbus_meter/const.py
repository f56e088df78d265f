"""Constants of the profile meter integration."""
from __future__ import annotations

from typing import Final

# An optional register the meter refused (illegal address / function) is asked again this often.
UNSUPPORTED_RETRY_S: Final = 3600.0
