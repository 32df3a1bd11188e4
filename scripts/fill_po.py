"""Fill empty msgstr entries of a .po file from a JSON dictionary {msgid: msgstr}.

    python scripts/fill_po.py jiafang/locale/en/LC_MESSAGES/django.po translations.json

Entries msgmerge marked fuzzy (its guesses from similar strings) are translated afresh. Plural
entries get the same text for every form. Prints the msgids still untranslated.
"""

import json
import re
import sys

from jiafang.core.po import parse_block


def quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def main(po_path: str, dict_path: str) -> int:
    table = json.load(open(dict_path, encoding="utf-8"))
    text = open(po_path, encoding="utf-8").read()
    blocks = text.split("\n\n")
    out, missing = [blocks[0]], []
    for block in blocks[1:]:
        comments, fields = parse_block(block)
        msgid = fields.get("msgid")
        if not msgid:
            out.append(block)
            continue
        fuzzy = any(c.startswith("#, fuzzy") for c in comments)
        comments = [c for c in comments if not c.startswith("#| ")]
        comments = [c.replace("#, fuzzy, ", "#, ").replace(", fuzzy", "") for c in comments
                    if c != "#, fuzzy"]
        context = [f"msgctxt {quote(fields['msgctxt'])}"] if "msgctxt" in fields else []
        lines = [*comments, *context, f"msgid {quote(msgid)}"]
        if "msgid_plural" in fields:
            lines.append(f"msgid_plural {quote(fields['msgid_plural'])}")
            forms = sorted(k for k in fields if k.startswith("msgstr["))
            current = "" if fuzzy else fields.get("msgstr[0]", "")
            value = current or table.get(msgid, "")
            lines += [f"{form} {quote(fields[form] if fields[form] and not fuzzy else value)}"
                      for form in forms]
        else:
            current = "" if fuzzy else fields.get("msgstr", "")
            value = current or table.get(msgid, "")
            lines.append(f"msgstr {quote(value)}")
        if not value:
            missing.append(msgid)
        out.append("\n".join(lines))
    result = "\n\n".join(out)
    result = result.replace('"Plural-Forms: nplurals=INTEGER; plural=EXPRESSION;\\n"',
                            '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"')
    result = re.sub(r"^#, fuzzy\n", "", result, count=1, flags=re.MULTILINE)
    open(po_path, "w", encoding="utf-8").write(result if result.endswith("\n") else result + "\n")
    for msgid in missing:
        print("untranslated:", msgid)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
