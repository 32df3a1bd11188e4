"""Roster test helpers: spreadsheets are generated here with openpyxl (no binary fixtures)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

import openpyxl
import pytest
from django.db.models import Model
from django_scopes import scope, scopes_disabled

from jiafang.accounts.models import Role, User
from jiafang.schools.models import Family, FocusFlag, Guardian, SchoolClass, Student


def xlsx(rows: Sequence[Sequence[object]], *, merged: Iterable[str] = (),
         sheet_title: str = "Sheet1", number_formats: dict[str, str] | None = None,
         extra_sheets: dict[str, Sequence[Sequence[object]]] | None = None) -> bytes:
    """An .xlsx whose first sheet holds `rows` from A1 (None leaves a cell empty)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = sheet_title
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is not None:
                sheet.cell(row=r, column=c, value=value)
    for cell_range in merged:
        sheet.merge_cells(cell_range)
    for coordinate, fmt in (number_formats or {}).items():
        sheet[coordinate].number_format = fmt
    for title, other in (extra_sheets or {}).items():
        extra = book.create_sheet(title)
        for row in other:
            extra.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows: Sequence[Sequence[object]], *, encoding: str = "utf-8",
              delimiter: str = ",", bom: bool = False) -> bytes:
    text = "\r\n".join(delimiter.join("" if v is None else str(v) for v in row) for row in rows)
    data = text.encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


COUNTED: tuple[type[Model], ...] = (Student, Family, Guardian, SchoolClass, FocusFlag, Role, User)


def row_counts() -> dict[str, int]:
    """Rows of every table an import writes: compared before and after to prove all-or-nothing."""
    with scopes_disabled():
        counts = {model.__name__: model.objects.count() for model in COUNTED}
    from jiafang.roster.models import RosterUpload

    with scopes_disabled():
        counts["RosterUpload"] = RosterUpload.objects.count()
    return counts


@pytest.fixture
def in_school():
    """with in_school(school): … runs services inside that school's scope, like a request."""

    def _enter(*schools):
        return scope(school=[s.pk for s in schools])

    return _enter
