"""The visit exports (R12, R24; SECURITY.md B4–B6, E7, E8), registered in the shared registry:

- `visit_record_docx`: one record as Word in the layout of 附件2 (A4 portrait, the school's name
  in the title, a bordered table with the eleven fixed fields as the paper form arranges them,
  then the campaign's extra fields, the five contents and the four 进家庭 items covered, each
  child's strengths / shortcomings / methods, follow-up and the no-gifts affirmation).
- `ledger_xlsx`: the 台账 of a class, a school or a whole campaign as Excel, one row per record:
  the 附件2 columns in order, the extra fields by label, then contents, 进家庭, follow-up, the
  children's evaluation, counted yes/no, the record's status and submission time.

Who may export what (the same lookups as the pages):
- a record: whoever may read the visit (`visits.selectors.get_visit_for_user`: those who see a
  child of the family — leaders, the children's head and subject teachers, the mental-health
  teacher for a flagged child, bureau officers); the visit must have a record, else 404 as if
  missing;
- a class's ledger: whoever may open the class (its to-do list); a school's: its principal and
  coordinator and bureau officers (its coverage); a campaign's: officers of its bureau or above
  (bureau coverage), over the participating schools they see.

What is shown (masking, R23.10, B6): only the children of a record the user may see (others
are counted, "另有 1 名学生"); 家长姓名 in full only for users who see contacts
(`scoping.can_see_contacts` for the record's school or a shown child's class: principal,
coordinator, head teacher), masked as 王** for everyone else; guardian phones, addresses,
community and street, focus categories and their reasons are never exported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml.ns import qn
from docx.oxml.parser import OxmlElement
from docx.shared import Mm, Pt

from jiafang.campaigns.defaults import FormField, VisitForm
from jiafang.campaigns.models import Campaign
from jiafang.campaigns.selectors import participating_school_ids, record_form_fields
from jiafang.exports.registry import (
    Column,
    DocxExporter,
    XlsxExporter,
    clean_text,
    register,
    safe_filename,
)
from jiafang.reports import selectors as report_selectors
from jiafang.schools import scoping
from jiafang.schools.models import Guardian
from jiafang.visits.defaults import INTO_FAMILY, LOCAL_TZ, VISIT_CONTENTS
from jiafang.visits.models import VisitCompanion, VisitRecord, VisitRecordChild
from jiafang.visits.permissions import can_record_visit
from jiafang.visits.selectors import get_visit_for_user

SEPARATOR = "、"
CHUNK = 2000  # records per query batch of the ledger (memory stays flat on a whole campaign)


def mask_name(name: str) -> str:
    """王建国 → 王**: the family name only (the length is hidden too)."""
    name = (name or "").strip()
    return f"{name[0]}**" if name else ""


def _local(value: dt.datetime | None) -> dt.datetime | None:
    return timezone.localtime(value, LOCAL_TZ) if value else None


def _extra_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("是") if value else _("否")
    return str(value)


def _numbered(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if len(lines) < 2:
        return lines[0] if lines else ""
    return "\n".join(f"{number}. {line}" for number, line in enumerate(lines, start=1))


def records_for_export(user, records: QuerySet[VisitRecord]) -> QuerySet[VisitRecord]:
    """The records with what a row needs, in a constant number of queries: the visit, school,
    lead and family joined; children (each annotated `visible`: may the user see that child),
    companions and guardians prefetched."""
    visible = scoping.students_for_user(user).filter(pk=OuterRef("student_id"))
    return (records.select_related("visit__school", "visit__lead", "visit__family",
                                   "visit__campaign", "submitted_by")
            .prefetch_related(
                Prefetch("children", queryset=VisitRecordChild.objects
                         .select_related("student__school_class")
                         .annotate(visible=Exists(visible)).order_by("student_id")),
                Prefetch("visit__companions", queryset=VisitCompanion.objects
                         .select_related("user").order_by("pk")),
                Prefetch("visit__family__guardians",  # names only: no phone is even read
                         queryset=Guardian.objects.only("pk", "school_id", "family_id", "name",
                                                        "position").order_by("position", "pk")))
            .order_by("visited_at", "pk"))


@dataclass
class RecordRow:
    """One record as the user may see it: display values by form-field key (the fixed fields
    of 附件2 and the campaign's extras), and the children shown."""

    record: VisitRecord
    values: dict[str, str]
    children: list[VisitRecordChild]
    hidden_children: int
    visited_at: dt.datetime | None  # local time


def record_row(user, record: VisitRecord, fields: list[FormField]) -> RecordRow:
    visit = record.visit
    everyone = list(record.children.all())
    # who visited the family sees its children, as on the visit page
    children = everyone if can_record_visit(user, visit) else [c for c in everyone if c.visible]
    hidden = len(everyone) - len(children)
    show_contacts = scoping.can_see_contacts(
        user, school_id=record.school_id, class_ids={c.student.school_class_id for c in children})
    students = SEPARATOR.join(c.student.name for c in children)
    if hidden:
        others = _("另有 %(n)s 名学生") % {"n": hidden}
        students = f"{students}（{others}）" if students else others
    visited_at = _local(record.visited_at)
    values = {
        "school": visit.school.name,
        "teacher": visit.lead.display_name,
        "school_class": SEPARATOR.join(dict.fromkeys(c.student.school_class.name
                                                     for c in children)),
        "student": students,
        "guardian": SEPARATOR.join(g.name if show_contacts else mask_name(g.name)
                                   for g in visit.family.guardians.all()),
        "companions": SEPARATOR.join(c.user.display_name for c in visit.companions.all()),
        "visited_at": visited_at.strftime("%Y-%m-%d %H:%M") if visited_at else "",
        "visit_form": str(VisitForm(record.form).label) if record.form in VisitForm.values
        else record.form,
        "preparation": record.preparation,
        "process": record.process,
        "parent_demands": _numbered(record.parent_demands_text),
    }
    for f in fields:
        if not f.fixed:
            values[f.key] = _extra_text((record.extra or {}).get(f.key))
    return RecordRow(record, values, children, hidden, visited_at)


def _covered(codes, items) -> list[str]:
    chosen = set(codes or [])
    return [item[1] for item in items if item[0] in chosen]


def _evaluation(row: RecordRow) -> str:
    return "\n".join(
        f"{c.student.name}：{_('优点')}：{c.strengths}；{_('不足')}：{c.shortcomings}；"
        f"{_('改进方法')}：{c.methods}" for c in row.children)


def _status(record: VisitRecord) -> str:
    if record.version > 1:
        return _("已修改（第 %(v)s 版）") % {"v": record.version}
    return _("已提交")


# --- Word: one record in the layout of 附件2 ---------------------------------------------------

FONT = "宋体"
LABEL_WIDTH_MM = 22
VALUE_WIDTH_MM = 31.3  # 3 × (22 + 31.3) ≈ 160 mm: A4 less two 25 mm margins
# 附件2's table: three pairs on the first line, two on the next two, then full-width rows.
GRID = [("teacher", "school_class", "student"), ("guardian", "companions"),
        ("visited_at", "visit_form"), ("preparation",), ("process",), ("parent_demands",)]
TALL_KEYS = {"preparation", "process", "parent_demands"}


def _set_east_asian_font(element, font: str = FONT) -> None:
    """w:rFonts with w:eastAsia (and w:lang zh-CN), so Word and WPS pick the Chinese font."""
    rpr = element.get_or_add_rPr()
    fonts = rpr.get_or_add_rFonts()
    for attribute in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
        fonts.set(qn(attribute), font)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:eastAsia"), "zh-CN")


def _put(cell, text: str, *, bold: bool = False, center: bool = False) -> None:
    cell.text = ""
    paragraph = cell.paragraphs[0]
    run = paragraph.add_run(clean_text(text or ""))
    run.bold = bold
    if center:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
        cell.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER


def _table_row(table, pairs: list[tuple[str, str]], *, tall: bool = False) -> None:
    """One line of the form: label/value pairs over six grid columns (the last value spans
    what is left)."""
    row = table.add_row()
    cells = row.cells
    for index, cell in enumerate(cells):
        cell.width = Mm(LABEL_WIDTH_MM if index % 2 == 0 else VALUE_WIDTH_MM)
    for index, (label, value) in enumerate(pairs):
        _put(cells[2 * index], label, bold=True, center=True)
        _put(cells[2 * index + 1], value)
    last = 2 * len(pairs) - 1
    if last < len(cells) - 1:
        merged = cells[last].merge(cells[len(cells) - 1])
        value = pairs[-1][1]
        _put(merged, value)
    if tall:
        row.height = Mm(28)
        row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST


def _checks(codes, items) -> str:
    chosen = set(codes or [])
    return "　".join(f"{'☑' if item[0] in chosen else '☐'} {item[1]}" for item in items)


@register
class VisitRecordDocx(DocxExporter):
    identifier = "visit_record_docx"
    verbose_name = gettext_lazy("家访记录表（Word）")
    target_kinds = ("visit",)

    def resolve(self) -> None:
        visit = get_visit_for_user(self.user, self.target.pk)
        record = records_for_export(self.user, VisitRecord.objects.filter(visit=visit)).first()
        if record is None:
            raise Http404  # no record yet: answered like a missing visit
        self.visit, self.record = visit, record
        self.fields = record_form_fields(visit.campaign)
        self.school_ids = [visit.school_id]

    def rows(self) -> Iterator[RecordRow]:
        yield record_row(self.user, self.record, self.fields)

    def title(self) -> str:
        return _("%(school)s家访记录表") % {"school": self.visit.school.name}

    def description(self) -> str:
        return f"{self.verbose_name} · {self.visit.school.name} · {_('家访')} #{self.visit.pk}"

    def filename(self) -> str:
        day = _local(self.record.visited_at)
        return safe_filename(f"{self.title()}_{day:%Y%m%d}_{self.visit.pk}.docx")

    def start(self, document) -> None:
        section = document.sections[0]
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.left_margin = section.right_margin = Mm(25)
        section.top_margin = section.bottom_margin = Mm(20)
        normal = document.styles["Normal"]
        normal.font.size = Pt(10.5)
        _set_east_asian_font(normal.element)
        properties = document.core_properties
        properties.title = self.title()
        properties.author = properties.last_modified_by = "Jiafang"
        properties.comments = ""
        properties.created = properties.modified = timezone.now()

    def write(self, document, row: RecordRow) -> None:
        labels = {f.key: f.label for f in self.fields}
        heading = document.add_paragraph()
        heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run = heading.add_run(clean_text(self.title()))
        run.bold = True
        run.font.size = Pt(18)
        sub = document.add_paragraph()
        sub.alignment = WD_ALIGN_PARAGRAPH.CENTER
        sub.add_run(clean_text(self.visit.campaign.name)).font.size = Pt(10.5)
        document.add_paragraph(f"{labels['school']}：{clean_text(row.values['school'])}")

        table = document.add_table(rows=0, cols=6)
        table.style = "Table Grid"
        table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        for index, column in enumerate(table.columns):
            column.width = Mm(LABEL_WIDTH_MM if index % 2 == 0 else VALUE_WIDTH_MM)
        for keys in GRID:
            _table_row(table, [(labels[k], row.values[k]) for k in keys],
                       tall=bool(TALL_KEYS & set(keys)))
        for f in self.fields:
            if not f.fixed:
                _table_row(table, [(f.label, row.values[f.key])])
        record = row.record
        _table_row(table, [(_("家访内容"), _checks(record.contents, VISIT_CONTENTS))])
        _table_row(table, [(_("四进家庭"), _checks(record.into_family, INTO_FAMILY))])
        for child in row.children:
            text = "\n".join((f"{_('优点')}：{child.strengths}", f"{_('不足')}：{child.shortcomings}",
                              f"{_('改进方法')}：{child.methods}"))
            _table_row(table, [(_("学生评价") + f"\n{child.student.name}", text)])
        if row.hidden_children:
            _table_row(table, [(_("学生评价"), _("另有 %(n)s 名学生（不在你的查看范围内）")
                                % {"n": row.hidden_children})])
        _table_row(table, [(_("跟进措施"), record.follow_up or "—")])
        affirmed = "☑" if record.no_gifts_affirmed else "☐"
        _table_row(table, [(_("承诺"), f"{affirmed} {_('未接受家长宴请和礼品')}")])

        submitted = _local(record.submitted_at)
        by = record.submitted_by.display_name if record.submitted_by else ""
        counts = _("计入覆盖率") if record.counts else _("不计入覆盖率")
        note = document.add_paragraph()
        note.add_run(f"{by} {submitted:%Y-%m-%d %H:%M} {_('提交')} · {_status(record)} · {counts}"
                     ).font.size = Pt(9)


# --- Excel: the 台账 of a class, a school or a campaign ------------------------------------------

def _campaign_for(user, school, campaign_id) -> Campaign:
    campaign = report_selectors.campaign_for_school(user, school, campaign_id)
    if campaign is None:
        raise Http404
    return campaign


@register
class LedgerXlsx(XlsxExporter):
    identifier = "ledger_xlsx"
    verbose_name = gettext_lazy("家访台账（Excel）")
    target_kinds = ("class", "school", "campaign")

    def resolve(self) -> None:
        user, target = self.user, self.target
        records = VisitRecord.objects.all()
        if target.kind == "class":
            school_class = scoping.get_class_for_user(user, target.pk)
            campaign = _campaign_for(user, school_class.school, target.campaign)
            records = records.filter(pk__in=VisitRecordChild.objects.filter(
                student__school_class=school_class).values("record_id"))
            self.school_ids = [school_class.school_id]
            self.scope_name = f"{school_class.school.name}{school_class.name}"
        elif target.kind == "school":
            school = report_selectors.get_school_for_coverage(user, target.pk)
            campaign = _campaign_for(user, school, target.campaign)
            records = records.filter(school=school)
            self.school_ids = [school.pk]
            self.scope_name = school.name
        else:
            campaign = report_selectors.get_campaign_for_bureau_coverage(user, target.pk)
            self.school_ids = list(scoping.schools_for_user(user).filter(
                pk__in=participating_school_ids(campaign)).values_list("pk", flat=True))
            records = records.filter(school_id__in=self.school_ids)
            self.scope_name = _("全部学校")
        self.campaign = campaign
        self.records = records.filter(visit__campaign=campaign,
                                      visit__family__in=scoping.families_for_user(user))
        self.fields = record_form_fields(campaign)

    def sheet_title(self) -> str:
        return _("家访台账")

    def description(self) -> str:
        return f"{self.verbose_name} · {self.scope_name} · {self.campaign.name}"

    def filename(self) -> str:
        return safe_filename(f"{self.campaign.name}_{self.scope_name}_{_('家访台账')}.xlsx")

    def columns(self) -> list[Column]:
        widths = {"school": 18, "teacher": 10, "school_class": 14, "student": 14,
                  "guardian": 12, "companions": 14, "visited_at": 17, "visit_form": 10,
                  "preparation": 36, "process": 48, "parent_demands": 30}
        wrapped = {"preparation", "process", "parent_demands"}
        columns = [Column(f.label, widths.get(f.key, 20),
                          wrap=f.key in wrapped or (f.kind == "text" and not f.fixed))
                   for f in self.fields]
        return columns + [
            Column(_("家访内容"), 24, wrap=True), Column(_("四进家庭"), 24, wrap=True),
            Column(_("跟进措施"), 24, wrap=True),
            Column(_("学生评价（优点、不足、改进方法）"), 48, wrap=True),
            Column(_("计入覆盖率"), 10), Column(_("记录状态"), 16), Column(_("提交时间"), 17),
        ]

    def rows(self) -> Iterator[list]:
        for record in records_for_export(self.user, self.records).iterator(chunk_size=CHUNK):
            row = record_row(self.user, record, self.fields)
            values = [row.values[f.key] for f in self.fields]
            values[[f.key for f in self.fields].index("visited_at")] = (
                row.visited_at.replace(tzinfo=None, microsecond=0) if row.visited_at else None)
            submitted = _local(record.submitted_at)
            yield values + [
                SEPARATOR.join(_covered(record.contents, VISIT_CONTENTS)),
                SEPARATOR.join(_covered(record.into_family, INTO_FAMILY)),
                record.follow_up,
                _evaluation(row),
                _("是") if record.counts else _("否"),
                _status(record),
                submitted.replace(tzinfo=None, microsecond=0) if submitted else None,
            ]
