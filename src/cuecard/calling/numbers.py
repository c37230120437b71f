"""Phone number text: E.164 checks and the display forms of the documented object."""

from __future__ import annotations

import re

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
# Calling codes of the countries of Cuecard's languages (and a few neighbours), longest first.
_COUNTRIES = {
    "1": "US", "7": "RU", "31": "NL", "32": "BE", "33": "FR", "34": "ES", "39": "IT", "41": "CH",
    "43": "AT", "44": "GB", "49": "DE", "52": "MX", "54": "AR", "55": "BR", "56": "CL",
    "57": "CO", "61": "AU", "81": "JP", "82": "KR", "86": "CN", "351": "PT", "353": "IE",
    "886": "TW",
}  # fmt: skip
# +1 numbers of Canada's area codes.
_CANADA = {
    "204", "226", "236", "249", "250", "289", "306", "343", "365", "403", "416", "418", "431",
    "437", "438", "450", "506", "514", "519", "548", "579", "581", "587", "604", "613", "639",
    "647", "672", "705", "709", "778", "780", "782", "807", "819", "825", "867", "873", "902",
    "905",
}  # fmt: skip


def normalize(raw: str) -> str | None:
    """E.164 (`+15551234567`) from a number written with spaces, dashes, dots or brackets."""
    compact = re.sub(r"[\s().-]", "", raw.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    return compact if _E164.match(compact) else None


def _calling_code(number: str) -> str | None:
    digits = number[1:]
    for length in (3, 2, 1):
        if digits[:length] in _COUNTRIES:
            return digits[:length]
    return None


def country_of(number: str) -> str | None:
    code = _calling_code(number)
    if code is None:
        return None
    if code == "1" and number[2:5] in _CANADA:
        return "CA"
    return _COUNTRIES[code]


def formatted(number: str) -> str:
    """National display form: `(555) 123-4567` for North America, else the E.164 text."""
    if number.startswith("+1") and len(number) == 12:
        return f"({number[2:5]}) {number[5:8]}-{number[8:]}"
    return number


def international(number: str) -> str:
    code = _calling_code(number) or number[1:2]
    rest = number[1 + len(code) :]
    if code == "1" and len(rest) == 10:
        return f"+1 {rest[:3]} {rest[3:6]} {rest[6:]}"
    groups = [rest[i : i + 3] for i in range(0, len(rest), 3)]
    return " ".join([f"+{code}", *groups])
