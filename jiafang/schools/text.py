"""Normalising the text people type into spreadsheets and forms."""

import re
import unicodedata

_LIST_SEPARATORS = re.compile(r"[、，,；;\s/|]+")


def normalize(value: object) -> str:
    """Full-width to half-width (NFKC), stray and non-breaking spaces removed at the ends."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFKC", str(value))
    return text.replace("\u200b", "").strip()


def squash(value: object) -> str:
    """normalize() and drop every inner space: for names, codes and header matching."""
    return re.sub(r"\s+", "", normalize(value))


def split_list(value: object) -> list[str]:
    """Split '留守、单亲；心理' style lists on 、，, ; spaces."""
    return [part for part in _LIST_SEPARATORS.split(normalize(value)) if part]


def mask_phone(phone: str) -> str:
    """138****1234: enough to recognise, not enough to call."""
    digits = phone or ""
    if len(digits) < 7:
        return "****" if digits else ""
    return f"{digits[:3]}****{digits[-4:]}"


def mask_address(address: str) -> str:
    """Keep the first few characters (the road), hide the house number."""
    if not address:
        return ""
    keep = min(6, max(1, len(address) // 3))
    return address[:keep] + "****"
