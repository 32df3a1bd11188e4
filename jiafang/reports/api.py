"""Coverage API (R3, R4, R5, R17): the same lookups and figures as the coverage pages.

Mounted in `jiafang/api/api.py` under `/coverage`; the API's global auth (token or session)
applies. Out of scope answers 404 exactly like a missing id.
"""

from __future__ import annotations

import datetime as dt

from django.http import Http404
from ninja import Field, Query, Router, Schema

from jiafang.api.schemas import NextVisitOut
from jiafang.campaigns.selectors import get_campaign_for_user
from jiafang.reports import selectors
from jiafang.schools import scoping
from jiafang.visits.selectors import (
    Counts,
    coverage_figures,
    coverage_for_bureau,
    coverage_for_school,
    families_to_visit,
    progress_by_week,
)

router = Router(tags=["coverage"])


class CountOut(Schema):
    total: int
    visited: int


class FamilyCountOut(CountOut):
    declined: int = Field(description="婉拒且未家访的家庭")


class CategoryOut(Schema):
    code: str
    name: str
    total: int = Field(description="在读学生")
    visited: int


class BureauSchoolOut(Schema):
    id: int
    code: str
    name: str
    students: CountOut
    families: FamilyCountOut
    focus: CountOut
    principal_visits: int


class BureauCoverageOut(Schema):
    campaign_id: int
    students: CountOut
    families: FamilyCountOut
    focus: CountOut
    principal_visits: int
    by_category: list[CategoryOut]
    schools: list[BureauSchoolOut]


class GroupOut(Schema):
    id: int
    name: str
    students: CountOut
    families: FamilyCountOut


class TeacherOut(Schema):
    id: int
    name: str
    led: int
    joined: int
    is_principal: bool


class WeekOut(Schema):
    starts_on: dt.date
    families_visited: int
    cumulative: int


class SchoolCoverageOut(Schema):
    campaign_id: int
    school_id: int
    students: CountOut
    families: FamilyCountOut
    principal_visits: int
    by_category: list[CategoryOut]
    by_grade: list[GroupOut]
    by_class: list[GroupOut]
    by_teacher: list[TeacherOut]
    progress: list[WeekOut] = Field(description="每周首次家访的家庭数（周一开始）")


class TodoStudentOut(Schema):
    id: int
    name: str
    student_number: str



class TodoFamilyOut(Schema):
    family_id: int
    students: list[TodoStudentOut]
    focus: list[str] = Field(description="关注类别代码")
    next_visit: NextVisitOut | None
    declined_reason: str


class TodoOut(Schema):
    campaign_id: int
    class_id: int
    families_total: int
    families_visited: int
    pending: list[TodoFamilyOut] = Field(description="尚未家访，重点关注家庭在前")
    declined: list[TodoFamilyOut]


def _counts(c: Counts) -> dict:
    return {"students": {"total": c.students_total, "visited": c.students_visited},
            "families": {"total": c.families_total, "visited": c.families_visited,
                         "declined": c.families_declined}}


class FiguresOut(Schema):
    campaign_id: int
    school_id: int | None = Field(description="所问的学校；为空表示调用者的全部范围")
    class_id: int | None
    students: CountOut
    families: FamilyCountOut
    focus: CountOut = Field(description="有重点关注类别的在读学生")
    by_category: list[CategoryOut]


@router.get("", response=FiguresOut)
def coverage(request, campaign: int, school: int | None = None,
             class_: int | None = Query(None, alias="class")):
    """Headline coverage (R3, R4): the caller's whole scope by default, or one school
    (`school=`) or one class (`class=`). Schools the caller sees whole are read from the stored
    per-school figures; a teacher's classes are counted live. Out of scope: 404."""
    found = get_campaign_for_user(request.user, campaign)
    school_id = target_class = None
    if class_ is not None:
        target_class = scoping.get_class_for_user(request.user, class_)
    elif school is not None:
        school_id = scoping.school_id_for_user(request.user, school)
    figures = coverage_figures(request.user, found, school_id=school_id,
                               school_class=target_class)
    return {"campaign_id": found.pk,
            "school_id": school_id,
            "class_id": target_class.pk if target_class else None,
            **_counts(figures.totals),
            "focus": {"total": figures.focus_total, "visited": figures.focus_visited},
            "by_category": [{"code": c.code, "name": c.name, "total": t, "visited": v}
                            for c, t, v in figures.by_category]}


@router.get("/bureau", response=BureauCoverageOut)
def coverage_bureau(request, campaign: int):
    """Officers of the campaign's bureau: totals, per school and per focus category."""
    found = selectors.get_campaign_for_bureau_coverage(request.user, campaign)
    cov = coverage_for_bureau(request.user, found)
    return {
        "campaign_id": found.pk, **_counts(cov.totals),
        "focus": {"total": cov.focus_total, "visited": cov.focus_visited},
        "principal_visits": cov.principal_visits,
        "by_category": [{"code": c.code, "name": c.name, "total": total, "visited": visited}
                        for c, total, visited in cov.by_category],
        "schools": [{
            "id": r.school.pk, "code": r.school.code, "name": r.school.name,
            "students": {"total": r.students_total, "visited": r.students_visited},
            "families": {"total": r.families_total, "visited": r.families_visited,
                         "declined": r.families_declined},
            "focus": {"total": r.focus_total, "visited": r.focus_visited},
            "principal_visits": r.principal_visits} for r in cov.schools],
    }


def _campaign(request, school, campaign_id):
    campaign = selectors.campaign_for_school(request.user, school, campaign_id)
    if campaign is None:
        raise Http404
    return campaign


@router.get("/schools/{school_id}", response=SchoolCoverageOut)
def coverage_school(request, school_id: int, campaign: int | None = None):
    """Principal, coordinator, bureau officers: one school's coverage and weekly progress."""
    school = selectors.get_school_for_coverage(request.user, school_id)
    found = _campaign(request, school, campaign)
    cov = coverage_for_school(request.user, school, found)
    progress = progress_by_week(request.user, school, found)
    return {
        "campaign_id": found.pk, "school_id": school.pk, **_counts(cov.totals),
        "principal_visits": cov.principal_visits,
        "by_category": [{"code": c.code, "name": c.name, "total": n.students_total,
                         "visited": n.students_visited} for c, n in cov.by_category],
        "by_grade": [{"id": grade, "name": name, **_counts(n)} for grade, name, n in cov.by_grade],
        "by_class": [{"id": k.pk, "name": k.name, **_counts(n)} for k, n in cov.by_class],
        "by_teacher": [{"id": t.user.pk, "name": t.user.display_name, "led": t.led,
                        "joined": t.joined, "is_principal": t.is_principal}
                       for t in cov.by_teacher],
        "progress": [{"starts_on": w.starts_on, "families_visited": w.families_visited,
                      "cumulative": w.cumulative} for w in progress.weeks],
    }


def _family(row) -> dict:
    visit = row.next_visit
    return {
        "family_id": row.family.pk,
        "students": [{"id": s.pk, "name": s.name, "student_number": s.student_number}
                     for s in row.students],
        "focus": [c.code for c in row.focus_categories],
        "next_visit": None if visit is None else {
            "id": visit.pk, "scheduled_at": visit.scheduled_at, "status": visit.status,
            "lead_name": visit.lead.display_name},
        "declined_reason": row.declined_reason,
    }


@router.get("/classes/{class_id}/todo", response=TodoOut)
def coverage_class_todo(request, class_id: int, campaign: int | None = None):
    """Whoever may open the class: families not yet visited (focus first), declined apart."""
    school_class = scoping.get_class_for_user(request.user, class_id)
    found = _campaign(request, school_class.school, campaign)
    todo = families_to_visit(request.user, school_class, found)
    return {
        "campaign_id": found.pk, "class_id": school_class.pk,
        "families_total": todo.visited_count + len(todo.pending) + len(todo.declined),
        "families_visited": todo.visited_count,
        "pending": [_family(r) for r in todo.pending],
        "declined": [_family(r) for r in todo.declined],
    }
