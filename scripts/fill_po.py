"""Fill empty msgstr entries of a .po file from a JSON dictionary {msgid: msgstr}.

    python scripts/fill_po.py jiafang/locale/en/LC_MESSAGES/django.po translations.json

Only single-line msgids are handled; plural entries get the same text for every form. Prints the
msgids still untranslated, so a missing translation is visible.
"""

import json
import re
import sys


def unquote(s: str) -> str:
    return json.loads(s)


def main(po_path: str, dict_path: str) -> int:
    table = json.load(open(dict_path, encoding="utf-8"))
    lines = open(po_path, encoding="utf-8").read().split("\n")
    out, missing, i = [], [], 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r'^msgid (".*")$', line)
        if m and unquote(m.group(1)):
            msgid = unquote(m.group(1))
            out.append(line)
            i += 1
            if lines[i].startswith("msgid_plural"):
                out.append(lines[i])
                i += 1
                while i < len(lines) and lines[i].startswith("msgstr["):
                    idx = lines[i][7]
                    current = unquote(lines[i].split(" ", 1)[1])
                    value = current or table.get(msgid, "")
                    out.append(f"msgstr[{idx}] {json.dumps(value, ensure_ascii=False)}")
                    i += 1
                if msgid not in table:
                    missing.append(msgid)
                continue
            current = unquote(lines[i][7:]) if lines[i].startswith("msgstr ") else ""
            value = current or table.get(msgid, "")
            if not value:
                missing.append(msgid)
            out.append(f"msgstr {json.dumps(value, ensure_ascii=False)}")
            i += 1
            continue
        out.append(line)
        i += 1
    text = "\n".join(out).replace('"Plural-Forms: nplurals=INTEGER; plural=EXPRESSION;\\n"',
                                  '"Plural-Forms: nplurals=2; plural=(n != 1);\\n"')
    text = re.sub(r'\n#, fuzzy\n', "\n", text, count=1)
    open(po_path, "w", encoding="utf-8").write(text)
    for msgid in missing:
        print("untranslated:", msgid)
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
