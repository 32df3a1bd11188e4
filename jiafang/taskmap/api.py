"""Task assignments in the JSON API v1 (issue 3 points 3 and 10; R8, R10, R18).

Mounted at `/api/v1/assignments`; the same lookups (`taskmap.selectors`: 404 out of scope
exactly like a missing id, 403 where the caller may read the school's map but not change it)
and the same functions (`taskmap.services`) as the pages. Validation errors answer 422 with
Chinese messages per field. Bodies never set `school`, `version`, `manual` or other
server-owned fields: unknown keys are ignored.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Annotated

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from ninja import Field, Query, Router, Schema, Status
from ninja.errors import HttpError

from jiafang.accounts.models import User
from jiafang.api.schemas import ChildOut, ErrorOut, NextVisitOut, PersonOut, child_out, person_out
from jiafang.core.errors import validation_messages
from jiafang.taskmap import proximity, selectors, services

router = Router(tags=["assignments"])
Id = Annotated[int, Field(ge=1, le=2**63 - 1)]  # anything else matches no row: 404 or 422





class AssignmentOut(Schema):
    id: int
    campaign_id: int
    school_id: int
    family_id: int
    family_code: str
    lead: PersonOut | None = Field(description="主访教师；班级没有班主任时为空")
    companions: list[PersonOut]
    manual: bool = Field(description="协调员手动调整过；重新生成草案不会改动")
    over_cap: bool = Field(description="超出主访教师的减负上限且无法改派")
    version: int
    updated_at: dt.datetime
    children: list[ChildOut] = Field(description="该家庭在读的孩子中你可见的")
    hidden_children: int
    focus: bool = Field(description="有孩子被标记为重点关注")
    focus_categories: list[str] = Field(description="你可见的孩子的关注类别代码")
    visited: bool
    declined: bool
    next_visit: NextVisitOut | None
    group: str = Field(description="就近分组（街道·社区）；你无权查看联系方式时为空")


class AssignmentListOut(Schema):
    items: list[AssignmentOut]
    count: int



class DraftIn(Schema):
    campaign_id: Id
    school_id: Id


class DraftOut(Schema):
    created: int
    updated: int
    unchanged: int
    removed: int
    manual: int = Field(description="手动调整过、保持不变的家庭")
    over_cap: int
    without_lead: int


class ReassignIn(Schema):
    campaign_id: Id
    school_id: Id
    family_ids: list[Id] = Field(max_length=2000)
    lead_id: Id
    companion_ids: list[Id] | None = Field(
        None, description="省略时自动推荐一位（本班学科教师中任务最少者）；空列表表示不安排")


class ReassignOut(AssignmentListOut):
    warnings: list[str]


class LoadIn(Schema):
    campaign_id: Id
    school_id: Id
    user_id: Id
    max_families: int | None = Field(None, description="最多主访家庭数（0–500）；省略表示不限")
    share: int = Field(100, description="同行任务份额（%，0–100）；0 表示不安排同行")
    reason: str = Field("", max_length=200)


class LoadOut(Schema):
    user_id: int
    max_families: int | None
    share: int
    reason: str
    cleared: bool = Field(description="不限主访且份额 100% 时取消减负")


# --- shaping and errors ---------------------------------------------------------------------


def _out(row: selectors.FamilyRow) -> dict:
    a = row.assignment
    visit = row.next_visit
    return {
        "id": a.pk, "campaign_id": a.campaign_id, "school_id": a.school_id,
        "family_id": a.family_id, "family_code": row.family.code, "lead": person_out(a.lead),
        "companions": [person_out(u) for u in row.companions], "manual": a.manual,
        "over_cap": a.over_cap, "version": a.version, "updated_at": a.updated_at,
        "children": [child_out(s) for s in row.children],
        "hidden_children": row.hidden_children, "focus": row.focus,
        "focus_categories": [c.code for c in row.focus_categories],
        "visited": row.visited, "declined": row.declined,
        "next_visit": None if visit is None else {
            "id": visit.pk, "scheduled_at": visit.scheduled_at, "status": visit.status,
            "lead_name": visit.lead.display_name},
        "group": proximity.group_key(row.family) if row.show_contacts else "",
    }


def _invalid(error: DjangoValidationError):
    messages = validation_messages(error)
    return Status(422, {"detail": next(iter(messages.values()))[0], "errors": messages})


def _unprocessable(field: str, message: str):
    return Status(422, {"detail": message, "errors": {field: [message]}})


def _target(request, school_id: int, campaign_id: int):
    """The school (404 / 403 as the page) and the campaign (404 when the school is not in it)."""
    try:
        school = selectors.get_school_for_taskmap_change(request.user, school_id)
    except PermissionDenied:
        raise HttpError(403, "无权调整本校的家访任务。") from None
    campaign = selectors.campaign_for_taskmap(request.user, school, campaign_id)
    if campaign is None:
        raise Http404
    return school, campaign


# --- operations -----------------------------------------------------------------------------

class AssignmentFilter(Schema):
    campaign: Id | None = None
    school: Id | None = None
    teacher: Id | None = Field(None, description="主访或同行教师的用户 id")
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0)


@router.get("", response=AssignmentListOut)
def list_assignments(request, filters: Query[AssignmentFilter]):
    """Assignments of the families you may see, and yours (as lead or companion)."""
    qs = selectors.assignments_for_user(request.user)
    if filters.campaign is not None:
        qs = qs.filter(campaign_id=filters.campaign)
    if filters.school is not None:
        qs = qs.filter(school_id=filters.school)
    if filters.teacher is not None:
        qs = qs.filter(selectors.taught_by(filters.teacher))
    qs = qs.order_by("campaign_id", "school_id", "family_id")
    page = list(selectors.with_companions(qs)[filters.offset:filters.offset + filters.limit])
    return {"items": [_out(r) for r in selectors.assignment_rows(request.user, page)],
            "count": qs.count()}


@router.post("/draft", response={200: DraftOut, 403: ErrorOut, 422: ErrorOut})
def draft_assignments(request, payload: DraftIn):
    """Principal and coordinator: draft every family not adjusted by hand (生成任务草案)."""
    school, campaign = _target(request, payload.school_id, payload.campaign_id)
    try:
        result = services.taskmap_draft(campaign=campaign, school=school, by=request.user)
    except DjangoValidationError as error:
        return _invalid(error)
    return Status(200, asdict(result))


@router.post("/reassign", response={200: ReassignOut, 403: ErrorOut, 422: ErrorOut})
def reassign_assignments(request, payload: ReassignIn):
    """Principal and coordinator: give these families to another lead (marked manual)."""
    school, campaign = _target(request, payload.school_id, payload.campaign_id)
    ids = [payload.lead_id, *(payload.companion_ids or [])]
    users = {u.pk: u for u in User.objects.filter(pk__in=ids)}
    lead = users.get(payload.lead_id)
    if lead is None:
        return _unprocessable("lead", "家访教师必须是本校教职工。")
    companions = None
    if payload.companion_ids is not None:
        if set(payload.companion_ids) - set(users):
            return _unprocessable("companions", "同行教师必须是本校教职工。")
        companions = [users[i] for i in payload.companion_ids]
    try:
        result = services.taskmap_reassign(campaign=campaign, school=school,
                                           family_ids=payload.family_ids, lead=lead,
                                           companions=companions, by=request.user)
    except DjangoValidationError as error:
        return _invalid(error)
    page = list(selectors.with_companions(selectors.assignments_for_user(request.user).filter(
        pk__in=[a.pk for a in result.assignments])).order_by("family_id"))
    return Status(200, {"items": [_out(r) for r in selectors.assignment_rows(request.user, page)],
                        "count": len(page), "warnings": result.warnings})


@router.put("/loads", response={200: LoadOut, 403: ErrorOut, 422: ErrorOut})
def set_teacher_load(request, payload: LoadIn):
    """Principal and coordinator: a lighter load for a teacher with special difficulties (R18);
    no cap and a 100% share clears it."""
    school, campaign = _target(request, payload.school_id, payload.campaign_id)
    user = User.objects.filter(pk=payload.user_id).first()
    if user is None:
        return _unprocessable("user", "只能为本校教职工设置减负。")
    try:
        load = services.teacher_load_set(campaign=campaign, school=school, user=user,
                                         max_families=payload.max_families, share=payload.share,
                                         reason=payload.reason, by=request.user)
    except DjangoValidationError as error:
        return _invalid(error)
    if load is None:
        return Status(200, {"user_id": user.pk, "max_families": None, "share": 100,
                            "reason": "", "cleared": True})
    return Status(200, {"user_id": user.pk, "max_families": load.max_families,
                        "share": load.share, "reason": load.reason, "cleared": False})
