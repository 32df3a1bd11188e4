"""Simplified Chinese is the source language; the English catalog is complete and compiled."""

import gettext
from pathlib import Path

from django.utils import translation

from jiafang.core.po import entries

LOCALE = Path(__file__).resolve().parents[2] / "locale" / "en" / "LC_MESSAGES"


def po_entries() -> dict[str, str]:
    return entries((LOCALE / "django.po").read_text(encoding="utf-8"))


def test_every_string_has_an_english_translation():
    entries = po_entries()
    assert len(entries) > 100
    assert [msgid for msgid, msgstr in entries.items() if not msgstr] == []


def test_no_entry_is_left_fuzzy():
    """msgmerge's guesses (`#, fuzzy`) are not compiled: the page would fall back to Chinese."""
    text = (LOCALE / "django.po").read_text(encoding="utf-8")
    assert "#, fuzzy" not in text.split("\n\n", 1)[1]


def test_compiled_catalog_matches_the_po_file():
    with open(LOCALE / "django.mo", "rb") as handle:
        catalog = gettext.GNUTranslations(handle)
    for msgid, msgstr in po_entries().items():
        assert catalog.gettext(msgid) == msgstr, f"django.mo is stale for {msgid!r}"


def test_language_switch_changes_the_page(district, client):
    client.force_login(district.users["head_a1"])
    url = f"/classes/{district.class_a1.pk}/"
    chinese = client.get(url).content.decode()
    assert "退出" in chinese and 'lang="zh-hans"' in chinese
    client.post("/i18n/setlang/", {"language": "en", "next": url})
    english = client.get(url).content.decode()
    assert "Log out" in english and 'lang="en"' in english
    assert "2 students, 2 families" in english
    translation.activate("zh-hans")
