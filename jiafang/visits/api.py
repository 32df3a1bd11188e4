"""Visits in the JSON API v1 (issue 3 points 4, 6, 10): list, read, schedule, confirm,
reschedule, decline, cancel, record and amend. Thin shells over `visits.services`, with the same
lookups as the pages (`visits.permissions`: 404 out of scope, 403 where the caller may see the
visit but not act).

Concurrency and retries (SECURITY.md G1–G3):
- `GET /visits/{id}` answers `ETag: "<visit version>"`; the state changes take an optional
  `If-Match` with that version (412 when it moved).
- The record's responses carry `ETag: "<record version>"`; `PATCH /visits/{id}/record` requires
  `If-Match` with it: 428 when missing, 412 when stale (nothing is written).
- The preparation (`GET`/`PUT /visits/{id}/preparation`, issue 3 point 5) carries
  `ETag: "<notes version>"` ("0" before any notes); `PUT` requires `If-Match` likewise.
- `Idempotency-Key` on the creating writes (`POST /visits`, `POST /visits/{id}/record`): the same
  key with the same body answers the stored response and creates one row; the same key with
  another body answers 422; a concurrent duplicate answers 409. Without the header the write is
  performed as usual (keys are recommended for retrying clients, not required).
- Bodies never set `school`, `version`, `created_by`, `counts` or other server-owned fields:
  unknown keys are ignored.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import Http404, JsonResponse
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from jiafang.accounts.models import User
from jiafang.api.schemas import ChildOut, ErrorOut, PersonOut, child_out, person_out
from jiafang.campaigns import selectors as campaign_selectors
from jiafang.core.errors import validation_messages
from jiafang.schools import scoping
from jiafang.visits import permissions, selectors, services
from jiafang.visits.models import DemandCategory, IdempotencyKey, Visit

router = Router(tags=["visits"])


# --- schemas --------------------------------------------------------------------------------



class EventOut(Schema):
    kind: str
    at: dt.datetime
    by: str | None
    reason: str = ""


class RecordSummaryOut(Schema):
    version: int
    submitted_at: dt.datetime
    counts: bool


class VisitOut(Schema):
    id: int
    school_id: int
    campaign_id: int
    family_id: int
    family_code: str
    lead: PersonOut
    companions: list[PersonOut]
    scheduled_at: dt.datetime | None
    duration_minutes: int
    form: str
    status: str
    status_reason: str
    version: int


class VisitDetailOut(VisitOut):
    children: list[ChildOut] = Field(description="该家庭在读的孩子中你可见的")
    hidden_children: int
    events: list[EventOut]
    record: RecordSummaryOut | None


class WarningOut(Schema):
    code: str = Field(description="double_booking, teaching_hours, outside_period")
    message: str


class ScheduleOut(Schema):
    visit: VisitOut
    warnings: list[WarningOut]


class VisitListOut(Schema):
    items: list[VisitOut]
    count: int



class ScheduleIn(Schema):
    family_id: int
    campaign_id: int | None = Field(None, description="省略时为本校当前的家访活动")
    lead_id: int | None = Field(None, description="省略时：你任教该家庭的孩子则为你，否则为班主任")
    companion_ids: list[int] = []
    scheduled_at: dt.datetime = Field(description="带时区，如 2026-04-15T17:00:00+08:00")
    duration_minutes: int = 60
    form: str = Field("in_person", description="in_person, phone, video, at_school")


class RescheduleIn(Schema):
    scheduled_at: dt.datetime
    duration_minutes: int | None = None


class ReasonIn(Schema):
    reason: str = Field(max_length=200)


class ChildIn(Schema):
    strengths: str = ""
    shortcomings: str = ""
    methods: str = ""


class DemandIn(Schema):
    text: str
    category: str | None = Field(None, description="诉求类别代码，如 study；省略为“其他”")


class RecordIn(Schema):
    visited_at: dt.datetime
    form: str = "in_person"
    preparation: str
    process: str
    parent_demands: list[DemandIn] = []
    contents: list[str] = Field([], description="五项内容代码")
    into_family: list[str] = Field([], description="四进家庭代码")
    children: dict[str, ChildIn] = Field(description="按学生 id：优点、不足、改进方法（都必填）")
    follow_up: str = ""
    extra: dict[str, str | bool] = {}
    no_gifts_affirmed: bool = False


class RecordPatch(Schema):
    visited_at: dt.datetime | None = None
    form: str | None = None
    preparation: str | None = None
    process: str | None = None
    parent_demands: list[DemandIn] | None = None
    contents: list[str] | None = None
    into_family: list[str] | None = None
    children: dict[str, ChildIn] | None = None
    follow_up: str | None = None
    extra: dict[str, str | bool] | None = None


class DemandOut(Schema):
    text: str
    category: str
    status: str


class RecordChildOut(Schema):
    student_id: int
    name: str
    strengths: str
    shortcomings: str
    methods: str


class RecordOut(Schema):
    visit_id: int
    version: int
    visited_at: dt.datetime
    form: str
    preparation: str
    process: str
    parent_demands: list[DemandOut]
    contents: list[str]
    into_family: list[str]
    follow_up: str
    extra: dict
    no_gifts_affirmed: bool
    counts: bool
    children: list[RecordChildOut]
    submitted_at: dt.datetime


# --- shaping and errors ---------------------------------------------------------------------


def _visit_out(visit: Visit, companions: list[User] | None = None) -> dict:
    if companions is None:
        companions = [c.user for c in visit.companions.all()]
    return {
        "id": visit.pk, "school_id": visit.school_id, "campaign_id": visit.campaign_id,
        "family_id": visit.family_id, "family_code": visit.family.code,
        "lead": person_out(visit.lead), "companions": [person_out(u) for u in companions],
        "scheduled_at": visit.scheduled_at, "duration_minutes": visit.duration_minutes,
        "form": visit.form, "status": visit.status, "status_reason": visit.status_reason,
        "version": visit.version,
    }


def _record_out(record) -> dict:
    return {
        "visit_id": record.visit_id, "version": record.version, "visited_at": record.visited_at,
        "form": record.form, "preparation": record.preparation, "process": record.process,
        "parent_demands": [{"text": d.text, "category": d.category.code, "status": d.status}
                           for d in record.demands.all()],
        "contents": record.contents, "into_family": record.into_family,
        "follow_up": record.follow_up, "extra": record.extra,
        "no_gifts_affirmed": record.no_gifts_affirmed, "counts": record.counts,
        "children": [{"student_id": c.student_id, "name": c.student.name,
                      "strengths": c.strengths, "shortcomings": c.shortcomings,
                      "methods": c.methods} for c in record.children.all()],
        "submitted_at": record.submitted_at,
    }


def _json(status: int, data: dict, etag: int | None = None) -> JsonResponse:
    response = JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})
    if etag is not None:
        response["ETag"] = f'"{etag}"'
    return response


def _invalid(error: DjangoValidationError) -> JsonResponse:
    messages = validation_messages(error)
    return _json(422, {"detail": next(iter(messages.values()))[0], "errors": messages})


def _call(lookup):
    try:
        return lookup()
    except PermissionDenied:
        raise HttpError(403, "无权进行此操作。") from None


def _if_match(request, *, required: bool) -> int | None:
    """The version in `If-Match` ("3", W/"3" or 3); 428 when required and missing."""
    raw = request.headers.get("If-Match")
    if raw is None or not raw.strip():
        if required:
            raise HttpError(428, "缺少 If-Match 请求头（记录的版本号，见 ETag）。")
        return None
    text = raw.strip().removeprefix("W/").strip('"')
    try:
        return int(text)
    except ValueError:
        return -1  # matches no version: 412


def _stale(error: services.StaleVersion) -> JsonResponse:
    response = _json(412, {"detail": "该内容已被他人修改，请重新获取后再提交。",
                           "errors": {"version": ["版本已变化。"]}})
    response["ETag"] = f'"{error.current_version}"'
    return response


def _idempotent(request, perform) -> JsonResponse:
    """Run a creating write at most once per `Idempotency-Key` and body (G3)."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return perform()
    key = key.strip()
    if not key or len(key) > 200:
        return _json(400, {"detail": "Idempotency-Key 应为 1 到 200 个字符。"})
    digest = hashlib.sha256(b"\n".join([request.method.encode(), request.path.encode(),
                                        request.body or b""])).hexdigest()

    def replay():
        stored = IdempotencyKey.objects.filter(user=request.user, key=key).first()
        if stored is None:
            return None
        if stored.request_hash != digest:
            return _json(422, {"detail": "该 Idempotency-Key 已用于另一个请求。",
                               "errors": {"Idempotency-Key": ["同一个键只能用于同一个请求。"]}})
        response = _json(stored.status, stored.response_json)
        response["Idempotent-Replayed"] = "true"
        return response

    earlier = replay()
    if earlier is not None:
        return earlier
    try:
        with transaction.atomic():
            response = perform()
            if 200 <= response.status_code < 300:
                IdempotencyKey.objects.create(
                    user=request.user, key=key, request_hash=digest,
                    response_json=json.loads(response.content), status=response.status_code)
    except IntegrityError:  # the same key committed meanwhile: this write is rolled back
        return replay() or _json(409, {"detail": "相同 Idempotency-Key 的请求正在处理，请稍后重试。"})
    return response


def _users(ids) -> dict[int, User]:
    return {u.pk: u for u in User.objects.filter(pk__in=list(ids))}


def _demands(items) -> list[tuple[str, object]]:
    codes = {c.code: c for c in DemandCategory.objects.all()}
    result = []
    for item in items:
        category = None
        if item.category:
            category = codes.get(item.category)
            if category is None:
                raise DjangoValidationError({"parent_demands": [f"未知的诉求类别：{item.category}"]})
        result.append((item.text, category))
    return result


def _children(data: dict) -> dict[int, dict]:
    try:
        return {int(k): v.dict() for k, v in data.items()}
    except ValueError:
        raise DjangoValidationError({"children": ["孩子应按学生 id 填写。"]}) from None


# --- operations -----------------------------------------------------------------------------

class VisitFilter(Schema):
    campaign: int | None = None
    school: int | None = None
    class_id: int | None = Field(None, alias="class")
    status: str | None = None
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0)


@router.get("", response=VisitListOut)
def list_visits(request, filters: Query[VisitFilter]):
    """Visits of the families you may see, by campaign, school, class and status."""
    qs = selectors.visits_for_user(request.user)
    if filters.campaign is not None:
        qs = qs.filter(campaign_id=filters.campaign)
    if filters.school is not None:
        qs = qs.filter(school_id=filters.school)
    if filters.class_id is not None:
        qs = qs.filter(family__in=scoping.students_for_user(request.user)
                       .filter(school_class_id=filters.class_id).values("family_id"))
    if filters.status:
        qs = qs.filter(status=filters.status)
    qs = qs.order_by("scheduled_at", "pk")
    page = (qs.select_related("family", "lead").prefetch_related("companions__user")
            [filters.offset:filters.offset + filters.limit])
    return {"items": [_visit_out(v) for v in page], "count": qs.count()}


@router.get("/{visit_id}", response=VisitDetailOut)
def get_visit(request, visit_id: int):
    """One visit with its history; `ETag` is the visit's version."""
    visit = selectors.get_visit_for_user(request.user, visit_id)
    view = selectors.visit_view(request.user, visit)
    record = selectors.visit_record_of(visit)
    data = {
        **_visit_out(visit, view.companions),
        "children": [child_out(s) for s in view.children],
        "hidden_children": view.hidden_children,
        "events": [{"kind": e.kind, "at": e.at, "by": e.by.display_name if e.by else None,
                    "reason": (e.data or {}).get("reason", "")} for e in view.events],
        "record": ({"version": record.version, "submitted_at": record.submitted_at,
                    "counts": record.counts} if record else None),
    }
    return _json(200, VisitDetailOut(**data).model_dump(mode="json"), etag=visit.version)


@router.post("", response={201: ScheduleOut, 403: ErrorOut, 422: ErrorOut})
def schedule_visit(request, payload: ScheduleIn):
    """Schedule a visit (head teacher of a child's class, principal, coordinator). Warnings
    (double booking, teaching hours, outside the period) come back with the visit."""
    family = _call(lambda: permissions.get_family_for_schedule(request.user, payload.family_id))

    def perform():
        if payload.campaign_id is not None:
            campaign = campaign_selectors.get_campaign_for_user(request.user, payload.campaign_id)
        else:
            campaign = campaign_selectors.current_campaign_for_school(request.user, family.school)
            if campaign is None:
                return _json(422, {"detail": "本校当前没有进行中的家访活动。",
                                   "errors": {"campaign": ["本校当前没有进行中的家访活动。"]}})
        users = _users([payload.lead_id or 0, *payload.companion_ids])
        lead = users.get(payload.lead_id) if payload.lead_id else selectors.default_lead(
            request.user, family)
        if lead is None:
            return _json(422, {"detail": "请指定家访教师。", "errors": {"lead": ["请指定家访教师。"]}})
        if set(payload.companion_ids) - set(users):
            return _json(422, {"detail": "同行教师必须是本校教职工。",
                               "errors": {"companions": ["同行教师必须是本校教职工。"]}})
        try:
            result = services.visit_schedule(
                campaign=campaign, family=family, lead=lead,
                companions=[users[i] for i in payload.companion_ids if i in users],
                scheduled_at=payload.scheduled_at, duration_minutes=payload.duration_minutes,
                form=payload.form, by=request.user)
        except DjangoValidationError as error:
            return _invalid(error)
        visit = Visit.objects.select_related("family", "lead").get(pk=result.visit.pk)
        return _json(201, {"visit": _visit_out(visit),
                           "warnings": [{"code": w.code, "message": w.message}
                                        for w in result.warnings]}, etag=visit.version)

    try:
        return _idempotent(request, perform)
    except DjangoValidationError as error:
        return _invalid(error)


def _change(request, visit_id: int, act):
    visit = _call(lambda: permissions.get_visit_for_change(request.user, visit_id))
    expected = _if_match(request, required=False)
    try:
        result = act(visit, expected)
    except services.StaleVersion as error:
        return _stale(error)
    except DjangoValidationError as error:
        return _invalid(error)
    visit = Visit.objects.select_related("family", "lead").get(pk=visit.pk)
    warnings = getattr(result, "warnings", [])
    return _json(200, {"visit": _visit_out(visit),
                       "warnings": [{"code": w.code, "message": w.message} for w in warnings]},
                 etag=visit.version)


CHANGE_RESPONSES = {200: ScheduleOut, 403: ErrorOut, 412: ErrorOut, 422: ErrorOut}


@router.post("/{visit_id}/confirm", response=CHANGE_RESPONSES)
def confirm_visit(request, visit_id: int):
    return _change(request, visit_id, lambda v, version: services.visit_confirm(
        visit=v, by=request.user, expected_version=version))


@router.post("/{visit_id}/reschedule", response=CHANGE_RESPONSES)
def reschedule_visit(request, visit_id: int, payload: RescheduleIn):
    return _change(request, visit_id, lambda v, version: services.visit_reschedule(
        visit=v, scheduled_at=payload.scheduled_at, duration_minutes=payload.duration_minutes,
        by=request.user, expected_version=version))


@router.post("/{visit_id}/decline", response=CHANGE_RESPONSES)
def decline_visit(request, visit_id: int, payload: ReasonIn):
    """The family declines (家长婉拒), with a reason."""
    return _change(request, visit_id, lambda v, version: services.visit_decline(
        visit=v, reason=payload.reason, by=request.user, expected_version=version))


@router.post("/{visit_id}/cancel", response=CHANGE_RESPONSES)
def cancel_visit(request, visit_id: int, payload: ReasonIn):
    return _change(request, visit_id, lambda v, version: services.visit_cancel(
        visit=v, reason=payload.reason, by=request.user, expected_version=version))


@router.post("/{visit_id}/record",
             response={201: RecordOut, 403: ErrorOut, 409: ErrorOut, 422: ErrorOut})
def record_visit(request, visit_id: int, payload: RecordIn):
    """Record the visit (lead and companions): every enrolled child with strengths,
    shortcomings and methods; `ETag` of the answer is the record's version."""
    visit = _call(lambda: permissions.get_visit_for_record(request.user, visit_id))

    def perform():
        try:
            services.visit_record_submit(
                visit=visit, by=request.user, visited_at=payload.visited_at, form=payload.form,
                preparation=payload.preparation, process=payload.process,
                parent_demands=_demands(payload.parent_demands), contents=payload.contents,
                into_family=payload.into_family, children=_children(payload.children),
                follow_up=payload.follow_up, extra=payload.extra,
                no_gifts_affirmed=payload.no_gifts_affirmed)
        except DjangoValidationError as error:
            return _invalid(error)
        record = selectors.visit_record_of(visit)
        return _json(201, _record_out(record), etag=record.version)

    return _idempotent(request, perform)


@router.patch("/{visit_id}/record",
              response={200: RecordOut, 403: ErrorOut, 412: ErrorOut, 422: ErrorOut,
                        428: ErrorOut})
def amend_visit_record(request, visit_id: int, payload: RecordPatch):
    """Amend the record; `If-Match: "<record version>"` is required (428 without, 412 stale)."""
    visit = _call(lambda: permissions.get_visit_for_record(request.user, visit_id))
    record = selectors.visit_record_of(visit)
    if record is None:
        raise Http404
    expected = _if_match(request, required=True)
    changes = {k: v for k, v in payload.dict(exclude_unset=True).items() if v is not None}
    try:
        if "parent_demands" in changes:
            changes["parent_demands"] = _demands(payload.parent_demands or [])
        if "children" in changes:
            changes["children"] = _children(payload.children or {})
        services.visit_record_amend(record=record, by=request.user, expected_version=expected,
                                    **changes)
    except services.StaleVersion as error:
        return _stale(error)
    except DjangoValidationError as error:
        return _invalid(error)
    record = selectors.visit_record_of(visit)
    return _json(200, _record_out(record), etag=record.version)


# --- preparation (家访准备, R11, R23.1) -------------------------------------------------------

class FocusNoteOut(Schema):
    name: str
    reason: str = Field(description="关注原因；无权查看时为空")


class KeyPointOut(Schema):
    visit_id: int
    visited_at: dt.datetime
    form: str
    strengths: str
    shortcomings: str
    methods: str
    follow_up: str


class ChildProfileOut(Schema):
    id: int
    name: str
    class_id: int
    class_name: str
    focus: list[FocusNoteOut]
    key_points: list[KeyPointOut] = Field(description="以往家访要点，最新在前，最多 3 条")


class OpenDemandOut(Schema):
    id: int
    text: str
    category: str
    category_name: str
    raised_at: dt.datetime


class PreviousVisitOut(Schema):
    id: int
    campaign_id: int
    campaign_name: str
    scheduled_at: dt.datetime | None
    status: str
    status_reason: str


class PreparationNotesOut(Schema):
    topics: str
    strengths_to_praise: str
    concerns: str
    version: int
    updated_by: str | None
    updated_at: dt.datetime


class PreparationOut(Schema):
    visit_id: int
    can_edit: bool = Field(description="你是否可以修改准备笔记（家访教师和同行教师，家访未结束）")
    notes: PreparationNotesOut | None = Field(description="准备笔记；尚未填写时为 null（ETag 为 \"0\"）")
    children: list[ChildProfileOut]
    hidden_children: int
    open_demands: list[OpenDemandOut]
    previous_visits: list[PreviousVisitOut]


class PreparationIn(Schema):
    topics: str = ""
    strengths_to_praise: str = ""
    concerns: str = ""


def _preparation_response(request, visit: Visit) -> JsonResponse:
    can_write = permissions.can_write_preparation(request.user, visit)
    profile = selectors.preparation_profile(request.user, visit, all_children=can_write)
    notes = profile.preparation
    data = {
        "visit_id": visit.pk,
        "can_edit": can_write and visit.status in services.OPEN_STATES,
        "notes": None if notes is None else {
            "topics": notes.topics, "strengths_to_praise": notes.strengths_to_praise,
            "concerns": notes.concerns, "version": notes.version,
            "updated_by": notes.updated_by.display_name if notes.updated_by else None,
            "updated_at": notes.updated_at},
        "children": [{
            "id": c.student.pk, "name": c.student.name, "class_id": c.student.school_class_id,
            "class_name": c.class_name,
            "focus": [{"name": f.name, "reason": f.reason} for f in c.focus],
            "key_points": [{"visit_id": p.record.visit_id, "visited_at": p.record.visited_at,
                            "form": p.record.form, "strengths": p.strengths,
                            "shortcomings": p.shortcomings, "methods": p.methods,
                            "follow_up": p.record.follow_up} for p in c.key_points],
        } for c in profile.children],
        "hidden_children": profile.hidden_children,
        "open_demands": [{"id": d.pk, "text": d.text, "category": d.category.code,
                          "category_name": d.category.name, "raised_at": d.record.visited_at}
                         for d in profile.open_demands],
        "previous_visits": [{"id": v.pk, "campaign_id": v.campaign_id,
                             "campaign_name": v.campaign.name, "scheduled_at": v.scheduled_at,
                             "status": v.status, "status_reason": v.status_reason}
                            for v in profile.previous_visits],
    }
    return _json(200, PreparationOut(**data).model_dump(mode="json"),
                 etag=notes.version if notes is not None else 0)


@router.get("/{visit_id}/preparation", response={200: PreparationOut, 403: ErrorOut})
def get_visit_preparation(request, visit_id: int):
    """The prepared profile of the visit's family (class, focus categories, earlier visits' key
    points, open parent demands, earlier outcomes) and the preparation notes; lead, companions
    and those who may change the visit. `ETag` is the notes' version ("0" before any)."""
    visit = _call(lambda: permissions.get_visit_for_preparation(request.user, visit_id))
    return _preparation_response(request, visit)


@router.put("/{visit_id}/preparation",
            response={200: PreparationOut, 403: ErrorOut, 412: ErrorOut, 422: ErrorOut,
                      428: ErrorOut})
def save_visit_preparation(request, visit_id: int, payload: PreparationIn):
    """Write the preparation notes (lead and companions; all three parts replaced, at least
    one non-empty). `If-Match` is required: the notes' ETag, "0" for the first save (428
    without, 412 when someone else saved in between; nothing is written)."""
    visit = _call(lambda: permissions.get_visit_for_preparation(request.user, visit_id,
                                                                write=True))
    expected = _if_match(request, required=True)
    try:
        services.visit_preparation_save(
            visit=visit, by=request.user, topics=payload.topics,
            strengths_to_praise=payload.strengths_to_praise, concerns=payload.concerns,
            expected_version=expected)
    except services.StaleVersion as error:
        return _stale(error)
    except DjangoValidationError as error:
        return _invalid(error)
    return _preparation_response(request, visit)
