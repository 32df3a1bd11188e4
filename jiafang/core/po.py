"""Reading gettext .po files: one parser for the catalog tests and scripts/fill_po.py."""

import json
import re

_FIELD = re.compile(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d\])?) (".*")$')


def parse_block(block: str) -> tuple[list[str], dict[str, str]]:
    """One .po entry → (its comment lines, {msgctxt/msgid/msgid_plural/msgstr[...]: text})."""
    comments: list[str] = []
    fields: dict[str, str] = {}
    key = None
    for line in block.splitlines():
        if line.startswith("#"):
            comments.append(line)
            continue
        match = _FIELD.match(line)
        if match:
            key = match.group(1)
            fields[key] = json.loads(match.group(2))
        elif line.startswith('"') and key:
            fields[key] += json.loads(line)
    return comments, fields


def entries(text: str) -> dict[str, str]:
    """msgid → msgstr (the first form of plurals) of a whole .po file; an entry with a context
    is keyed "context\x04msgid", as gettext's compiled catalog keys it."""
    result = {}
    for block in text.split("\n\n"):
        fields = parse_block(block)[1]
        if fields.get("msgid"):
            key = (f"{fields['msgctxt']}\x04{fields['msgid']}" if "msgctxt" in fields
                   else fields["msgid"])
            result[key] = fields.get("msgstr", fields.get("msgstr[0]", ""))
    return result
