"""Helpers for the visit tests: a campaign in a past year (so its period and visits are in the
past), a scope like a request's, records built from the persona district, and a live recount of
the coverage figures that does not read the derived tables."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.db.models import Count, Exists, OuterRef
from django_scopes import scope

from jiafang.accounts.models import Role
from jiafang.conftest import make_campaign
from jiafang.schools.models import FocusFlag, Student
from jiafang.visits.defaults import seed_demand_categories
from jiafang.visits.models import CampaignSchoolFigures, DemandCategory, Visit, VisitRecordChild
from jiafang.visits.services import visit_record_submit, visit_schedule

SH = ZoneInfo("Asia/Shanghai")
YEAR = 2025  # the campaign runs 2025-03-01 .. 2025-06-30


def at(month: int, day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(YEAR, month, day, hour, minute, tzinfo=SH)


@pytest.fixture
def campaign(district):
    seed_demand_categories(DemandCategory)  # transactional tests flush the migration's rows
    return make_campaign(district, today=dt.date(YEAR, 1, 1))


@pytest.fixture
def scoped(district):
    """The scope a request of the district's staff would open (both schools of the bureau)."""
    with scope(school=[district.school_a.pk, district.school_b.pk]):
        yield


def children_parts(family, overrides: dict | None = None) -> dict:
    parts = {}
    for student in Student.objects.filter(family=family, status="enrolled"):
        parts[student.pk] = {"strengths": f"{student.name}乐于助人",
                             "shortcomings": "作业拖拉", "methods": "每天固定时间完成作业"}
    parts.update(overrides or {})
    return parts


def record_kwargs(visit, **changes) -> dict:
    values = {
        "by": visit.lead, "visited_at": at(4, 15, 17), "form": "in_person",
        "preparation": "了解孩子近期在校表现，准备表扬点", "process": "与家长交流一小时",
        "parent_demands": [("希望多关注孩子的数学", None)], "contents": ["family_situation"],
        "into_family": ["family_education"], "children": children_parts(visit.family),
        "follow_up": "下周电话回访", "extra": {}, "no_gifts_affirmed": True,
    }
    values.update(changes)
    return values


def schedule_and_record(district, campaign, family, *, lead=None, when=None, **changes):
    lead = lead or district.users["head_a1"]
    result = visit_schedule(campaign=campaign, family=family, lead=lead, companions=[],
                            scheduled_at=when or at(4, 15, 17), duration_minutes=60,
                            form="in_person", by=lead)
    record = visit_record_submit(visit=result.visit, **record_kwargs(result.visit, **changes))
    return result.visit, record


def live_figures(campaign, school) -> dict:
    """Coverage figures recounted from visits, records and children (not the derived tables)."""
    children = VisitRecordChild.objects.filter(
        record__visit__campaign=campaign, record__counts=True, student__school=school,
        student__status="enrolled")
    visited_ids = set(children.values_list("student_id", flat=True))
    enrolled = Student.objects.filter(school=school, status="enrolled")
    visited = enrolled.filter(pk__in=visited_ids)
    flags = FocusFlag.objects.filter(student__in=visited, cleared_at=None)
    declined_families = set(Visit.objects.filter(campaign=campaign, school=school,
                                                 status="declined").values_list("family_id",
                                                                                flat=True))
    principal = Role.objects.filter(user=OuterRef("lead_id"), school=OuterRef("school_id"),
                                    kind="principal")
    return {
        "students_visited": visited.count(),
        "families_visited": visited.values("family").distinct().count(),
        "focus_students_visited": flags.values("student").distinct().count(),
        "by_category_visited": {str(c): n for c, n in flags.order_by().values_list("category")
                                .annotate(n=Count("student", distinct=True))},
        "principal_visits": Visit.objects.filter(campaign=campaign, school=school, status="done",
                                                 record__counts=True)
        .filter(Exists(principal)).count(),
        "families_declined": enrolled.filter(family_id__in=declined_families)
        .exclude(pk__in=visited_ids).values("family").distinct().count(),
    }


def stored_figures(campaign, school) -> dict:
    f = CampaignSchoolFigures.objects.filter(campaign=campaign, school=school).first()
    if f is None:
        f = CampaignSchoolFigures(campaign=campaign, school=school)
    return {k: getattr(f, k) for k in ("students_visited", "families_visited",
                                       "focus_students_visited", "by_category_visited",
                                       "principal_visits", "families_declined")}


def assert_figures_true(campaign, district) -> None:
    for school in (district.school_a, district.school_b):
        assert stored_figures(campaign, school) == live_figures(campaign, school), school
