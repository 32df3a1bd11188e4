"""Test data for the exports: a recorded visit for the access matrix, and file readers."""

from __future__ import annotations

import datetime as dt
from io import BytesIO

from django.utils import timezone
from django_scopes import scopes_disabled


def matrix_recorded_visit(district) -> int:
    """A recorded visit of head_a2 to a family of its own in class 3(2), in the matrix
    campaign (yesterday, so the record's time is in the past)."""
    from jiafang.conftest import make_family, make_student
    from jiafang.visits.defaults import seed_demand_categories
    from jiafang.visits.models import DemandCategory
    from jiafang.visits.services import visit_record_submit, visit_schedule

    with scopes_disabled():
        seed_demand_categories(DemandCategory)
        family = make_family(district.school_a, "F-A-EXPORT", guardian="钱多", phone="13711119999")
        child = make_student(district.class_a2, family, "A0099", "钱小")
        lead = district.users["head_a2"]
        when = timezone.now() - dt.timedelta(days=1)
        visit = visit_schedule(campaign=district.campaign, family=family, lead=lead,
                               companions=[], scheduled_at=when, duration_minutes=60,
                               form="in_person", by=lead).visit
        visit_record_submit(
            visit=visit, by=lead, visited_at=when, form="in_person", preparation="准备",
            process="交流", parent_demands=[], contents=["family_situation"],
            into_family=[], children={child.pk: {"strengths": "认真", "shortcomings": "粗心",
                                                 "methods": "检查"}},
            no_gifts_affirmed=True)
        return visit.pk


def docx_text(content: bytes) -> str:
    """Every paragraph and table cell of a Word file, one per line."""
    import docx

    document = docx.Document(BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def xlsx_rows(content: bytes) -> list[list]:
    import openpyxl

    sheet = openpyxl.load_workbook(BytesIO(content)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]
