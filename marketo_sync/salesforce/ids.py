"""Salesforce record ids: validation and 15 → 18 character normalisation.

Salesforce ids are case-sensitive base-62 strings of 15 characters; the 18-character form adds a
3-character suffix that encodes the case of the first 15, so it survives case-insensitive systems.
We always store the 18-character form, so the same record never appears under two keys.
"""

import re
from functools import lru_cache

SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
# The 15 case-sensitive characters are base 62 in this digit order, which is also their order as
# text, so comparing ids as numbers and as strings (SOQL `Id < '...'`) agree.
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_RE = re.compile(r"^[0-9A-Za-z]{15}(?:[0-9A-Za-z]{3})?$")
ID_18_REGEX = r"^[0-9A-Za-z]{18}$"


class InvalidSalesforceId(ValueError):
    """Raised for a value that cannot be a Salesforce record id."""


# Each character as a bit: 1 for an uppercase letter. A 5-character chunk's bits, read
# backwards as a binary number, index SUFFIX_ALPHABET.
CASE_BITS = str.maketrans({char: "1" if "A" <= char <= "Z" else "0" for char in BASE62})
SUFFIX_BY_CASE_BITS = {
    format(bits, "05b")[::-1]: SUFFIX_ALPHABET[bits] for bits in range(len(SUFFIX_ALPHABET))
}


def checksum_suffix(id15: str) -> str:
    """The 3-character suffix: per 5-char chunk, a bit per uppercase letter, mapped to A–Z0–5."""
    bits = id15.translate(CASE_BITS)
    return (
        SUFFIX_BY_CASE_BITS[bits[0:5]] + SUFFIX_BY_CASE_BITS[bits[5:10]]
        + SUFFIX_BY_CASE_BITS[bits[10:15]]
    )


def sfdc_id_18(value: str) -> str:
    """Return the 18-character form of a 15- or 18-character id, or raise InvalidSalesforceId."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise InvalidSalesforceId(
            f"{value!r} is not a Salesforce id: expected 15 or 18 letters and digits."
        )
    id15 = value[:15]
    expected = checksum_suffix(id15)
    if len(value) == 18 and value[15:].upper() != expected:
        raise InvalidSalesforceId(
            f"{value!r} is not a Salesforce id: its checksum suffix should be {expected!r}."
        )
    return id15 + expected


# Cached for the ids a sync meets again and again (accounts, owners: a page's contacts name the
# same few); a bounded cache keeps memory flat in the size of the org. A record's own id is read
# once and goes through `sfdc_id_18`, so it never pushes those out.
normalize_sfdc_id = lru_cache(maxsize=8192)(sfdc_id_18)


def key_prefix(sfdc_id: str) -> str:
    """The object's key prefix (001 Account, 003 Contact, 00Q Lead, 006 Opportunity, 005 User)."""
    return sfdc_id[:3]


def id_number(sfdc_id: str) -> int:
    """The 15-character id read as a base-62 number (for slicing an object's id space)."""
    number = 0
    for char in normalize_sfdc_id(sfdc_id)[:15]:
        number = number * 62 + BASE62.index(char)
    return number


def id_from_number(number: int) -> str:
    """The 18-character id whose first 15 characters are this base-62 number."""
    digits = []
    for _ in range(15):
        number, remainder = divmod(number, 62)
        digits.append(BASE62[remainder])
    return normalize_sfdc_id("".join(reversed(digits)))
