"""The shared exporter registry (R12, R24; SECURITY.md E7, E8).

An exporter declares what it is (`identifier`, `verbose_name`, `format`, the target kinds it
accepts), looks its target up through the scoping layer (`resolve`, 404 for anything out of
scope) and yields rows; the base classes turn the rows into the file's bytes, in memory: no
temporary file is ever written (openpyxl writes each worksheet to a temporary file by default,
`_xlsx_bytes` keeps it in a BytesIO instead). Every spreadsheet cell goes through
`sanitize_cell`, so no exported text is read back as a formula (E7).

Apps declare their exporters in `<app>/exporters.py` with `@register`; `ExportsConfig.ready`
imports those modules. `exports.services.export_run` is the one way to run an exporter: it
checks the rate limit, resolves, renders and writes the `ExportLog` row.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from io import BytesIO
from typing import Any, ClassVar
from zipfile import ZIP_DEFLATED, ZipFile

import docx
from django.http import Http404
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.drawing.spreadsheet_drawing import SpreadsheetDrawing
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._writer import WorksheetWriter
from openpyxl.writer.excel import ExcelWriter

from jiafang.accounts.models import User
from jiafang.schools import scoping

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTENT_TYPES = {"docx": DOCX, "xlsx": XLSX}

TARGET_KINDS = ("visit", "class", "school", "campaign")


@dataclass(frozen=True)
class ExportTarget:
    """What the user asked for, as typed (ids not yet checked): a visit, or the ledger of a
    class, a school or a whole campaign (`campaign` narrows class and school targets)."""

    kind: str
    pk: object = None
    campaign: object = None

    @property
    def pk_int(self) -> int | None:
        return _int_or_none(self.pk)

    @property
    def campaign_int(self) -> int | None:
        return _int_or_none(self.campaign)


def _int_or_none(value: object) -> int | None:
    """The id, or None when it cannot be one (the export then answers 404 and logs it)."""
    try:
        return scoping.id_or_404(value)
    except Http404:
        return None


def scope_target(*, campaign: object = None, school: object = None,
                 school_class: object = None) -> ExportTarget:
    """A ledger target from query parameters: `class` wins over `school`; neither means the
    whole campaign (bureau officers)."""
    if school_class not in (None, ""):
        return ExportTarget("class", school_class, campaign)
    if school not in (None, ""):
        return ExportTarget("school", school, campaign)
    return ExportTarget("campaign", campaign, campaign)


# --- spreadsheet safety (E7) -------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 cannot carry (openpyxl refuses them); tab, LF and CR are fine.
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
MAX_CELL_CHARS = 32767  # Excel's limit for one cell


def clean_text(value: str) -> str:
    """Text without the control characters XML cannot hold (a pasted record may carry them)."""
    return _ILLEGAL_XML.sub("", value.replace("\r\n", "\n"))


def sanitize_cell(value: Any) -> Any:
    """A value safe to put in a spreadsheet cell (E7).

    Text that starts with = + - @ tab or CR is prefixed with an apostrophe, the way defusedcsv
    does it for our CSV files: Excel, WPS and openpyxl then read plain text, never a formula or a
    DDE call. Control characters are dropped and text is cut at Excel's cell limit. Numbers,
    dates and booleans pass unchanged; anything else becomes text."""
    if value is None or isinstance(value, bool | int | float | dt.datetime | dt.date):
        return value
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        text = "'" + text
    text = _ILLEGAL_XML.sub("", text)
    return text[:MAX_CELL_CHARS]


_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def sheet_title(title: str) -> str:
    """A valid worksheet name: no [ ] : * ? / \\, at most 31 characters."""
    cleaned = _SHEET_FORBIDDEN.sub("", clean_text(title)).strip("' ") or "Sheet1"
    return cleaned[:31]


_FILENAME_FORBIDDEN = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')


def safe_filename(name: str) -> str:
    """A file name without path separators, quotes or control characters."""
    cleaned = _FILENAME_FORBIDDEN.sub("_", name).strip(". ")
    return cleaned[:150] or "export"


# --- the base classes --------------------------------------------------------------------------

class Exporter:
    """One kind of export. Subclasses set the class attributes and implement `resolve`,
    `rows`, `description` and `filename`; the format base classes implement `render`."""

    identifier: ClassVar[str]
    verbose_name: ClassVar[Any]  # a lazy gettext string
    format: ClassVar[str]  # "docx" or "xlsx"
    target_kinds: ClassVar[tuple[str, ...]]

    def __init__(self, *, user: User, target: ExportTarget):
        self.user = user
        self.target = target
        self.row_count = 0
        self.school_ids: list[int] = []  # the schools whose data the export holds (for the log)

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.format]

    def resolve(self) -> None:
        """Look the target up through the scoping layer; raise Http404 when it is missing or
        out of the user's scope (the two look the same). Sets `school_ids`."""
        raise NotImplementedError

    def rows(self) -> Iterable:
        raise NotImplementedError

    def description(self) -> str:
        """A short description of the target for the export log (no child's name)."""
        raise NotImplementedError

    def filename(self) -> str:
        raise NotImplementedError

    def render(self) -> bytes:
        raise NotImplementedError


@dataclass(frozen=True)
class Column:
    header: str
    width: float = 12  # in Excel's character units
    wrap: bool = False


class XlsxExporter(Exporter):
    """A one-sheet workbook: a bold header row (frozen), then one row per item of `rows()`."""

    format = "xlsx"

    def sheet_title(self) -> str:
        raise NotImplementedError

    def columns(self) -> list[Column]:
        raise NotImplementedError

    def render(self) -> bytes:
        columns = self.columns()
        book = Workbook(write_only=True)
        sheet = book.create_sheet(sheet_title(self.sheet_title()))
        sheet.freeze_panes = "A2"
        for index, column in enumerate(columns, start=1):
            sheet.column_dimensions[get_column_letter(index)].width = column.width
        _in_memory_writer(sheet)
        bold = Font(bold=True)
        header = []
        for column in columns:
            cell = WriteOnlyCell(sheet, value=sanitize_cell(column.header))
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        wrap = Alignment(wrap_text=True, vertical="top")
        top = Alignment(vertical="top")
        count = 0
        for row in self.rows():
            cells = []
            for column, value in zip(columns, row, strict=True):
                cell = WriteOnlyCell(sheet, value=sanitize_cell(value))
                if isinstance(value, dt.datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                cell.alignment = wrap if column.wrap else top
                cells.append(cell)
            sheet.append(cells)
            count += 1
        self.row_count = count
        return _xlsx_bytes(book)


class DocxExporter(Exporter):
    """A Word document: `start` sets the page up, then `write` puts each row on its own page."""

    format = "docx"

    def start(self, document) -> None:
        """Page size, margins, fonts (subclasses call it or replace it)."""

    def write(self, document, row) -> None:
        raise NotImplementedError

    def render(self) -> bytes:
        document = docx.Document()
        self.start(document)
        count = 0
        for row in self.rows():
            if count:
                document.add_page_break()
            self.write(document, row)
            count += 1
        self.row_count = count
        buffer = BytesIO()
        document.save(buffer)
        return buffer.getvalue()


# --- in-memory xlsx (E8) -------------------------------------------------------------------------

def _in_memory_writer(sheet) -> None:
    """Give a write-only sheet a writer whose stream is a BytesIO (openpyxl would open a
    temporary file). Column widths and frozen panes must be set before this."""
    sheet._writer = WorksheetWriter(sheet, out=BytesIO())
    sheet._writer.write_top()


class _InMemoryExcelWriter(ExcelWriter):
    def write_worksheet(self, ws):
        ws._drawing = SpreadsheetDrawing()
        ws._drawing.charts = ws._charts
        ws._drawing.images = ws._images
        if not ws.closed:
            ws.close()
        writer = ws._writer
        ws._rels = writer._rels
        self._archive.writestr(ws.path[1:], writer.read())
        self.manifest.append(ws)


def _xlsx_bytes(book: Workbook) -> bytes:
    buffer = BytesIO()
    archive = ZipFile(buffer, "w", ZIP_DEFLATED, allowZip64=True)
    book.properties.creator = "Jiafang"
    _InMemoryExcelWriter(book, archive).save()
    return buffer.getvalue()


# --- the registry -------------------------------------------------------------------------------

_REGISTRY: dict[str, type[Exporter]] = {}


def register(cls: type[Exporter]) -> type[Exporter]:
    """Class decorator: make the exporter available under its identifier."""
    if cls.identifier in _REGISTRY and _REGISTRY[cls.identifier] is not cls:
        raise ValueError(f"exporter {cls.identifier!r} registered twice")
    unknown = set(cls.target_kinds) - set(TARGET_KINDS)
    if unknown or cls.format not in CONTENT_TYPES:
        raise ValueError(f"exporter {cls.identifier!r}: bad format or target kinds {unknown}")
    _REGISTRY[cls.identifier] = cls
    return cls


def get_exporter(identifier: str) -> type[Exporter]:
    try:
        return _REGISTRY[identifier]
    except KeyError:
        raise Http404 from None


def exporters() -> Iterator[type[Exporter]]:
    return iter(sorted(_REGISTRY.values(), key=lambda cls: cls.identifier))
