"""Timetable in the JSON API v1 (R8, R17, R23.2): a teacher's week and parent links.

Mounted in `jiafang/api/api.py` under `/timetable`; the API's global auth (token or session)
applies. The same lookups as the pages: another teacher's week is 404 unless the caller leads
a school where that teacher works; a parent link for a visit the caller cannot see is 404, for
one they see but may not change 403.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.urls import reverse
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from jiafang.api.schemas import ChildOut, ErrorOut, PersonOut, child_out, person_out
from jiafang.core.errors import validation_messages
from jiafang.timetable import selectors, services
from jiafang.visits import permissions

router = Router(tags=["timetable"])




class EntryOut(Schema):
    visit_id: int
    scheduled_at: dt.datetime
    ends_at: dt.datetime
    duration_minutes: int
    status: str
    form: str
    role: str = Field(description="lead（家访教师）或 companion（同行教师）")
    lead: PersonOut
    companions: list[PersonOut]
    children: list[ChildOut] = Field(description="该家庭在读的孩子中你可见的")
    hidden_children: int
    in_teaching_hours: bool = Field(description="与上课时间重叠")
    can_open: bool = Field(description="你能否打开该家访（GET /visits/{id}）")


class DayOut(Schema):
    date: dt.date
    visits: list[EntryOut]


class CalendarWeekOut(Schema):
    week: str = Field(description="ISO 周，如 2026-W15")
    starts_on: dt.date
    teacher: PersonOut
    teaching_hours: str
    previous: str
    next: str
    days: list[DayOut]


class ParentLinkOut(Schema):
    url: str = Field(description="发给家长的链接，只返回这一次")
    expires_at: dt.datetime




@router.get("/week", response=CalendarWeekOut)
def timetable_week(request, week: str | None = None, teacher: int | None = None):
    """A teacher's visits (lead or companion) Monday to Sunday, Asia/Shanghai; by default the
    caller's own this week. Principals and coordinators may ask for any staff member of their
    school (`teacher=`); anyone else asking for another teacher gets 404."""
    found, school_ids = selectors.calendar_teacher(request.user, teacher)
    try:
        monday = selectors.parse_week(week) or selectors.current_monday()
    except ValueError:
        raise HttpError(422, "week 的格式应为 2026-W15。") from None
    data = selectors.week_for_user(request.user, teacher=found, school_ids=school_ids,
                                   monday=monday)
    return {
        "week": data.label, "starts_on": data.monday, "teacher": person_out(found),
        "teaching_hours": data.teaching_hours, "previous": data.previous, "next": data.next,
        "days": [{"date": day.date, "visits": [{
            "visit_id": e.visit.pk, "scheduled_at": e.starts, "ends_at": e.ends,
            "duration_minutes": e.visit.duration_minutes, "status": e.visit.status,
            "form": e.visit.form, "role": e.role, "lead": person_out(e.visit.lead),
            "companions": [person_out(u) for u in e.companions],
            "children": [child_out(s) for s in e.children],
            "hidden_children": e.hidden_children, "in_teaching_hours": e.in_teaching_hours,
            "can_open": e.can_open} for e in day.entries]} for day in data.days],
    }


@router.post("/visits/{visit_id}/parent-link",
             response={201: ParentLinkOut, 403: ErrorOut, 422: ErrorOut})
def create_parent_link(request, visit_id: int):
    """A new parent link for the visit (the previous one stops working); the URL is returned
    this once and never stored. Those who may change the visit; proposed or confirmed visits
    whose day is not over."""
    try:
        visit = permissions.get_visit_for_change(request.user, visit_id)
        link, raw = services.parent_link_create(visit=visit, by=request.user)
    except PermissionDenied:
        raise HttpError(403, "无权进行此操作。") from None
    except DjangoValidationError as error:
        messages = validation_messages(error)
        return JsonResponse({"detail": next(iter(messages.values()))[0], "errors": messages},
                            status=422, json_dumps_params={"ensure_ascii": False})
    url = request.build_absolute_uri(reverse("timetable:parent_exchange", args=[raw]))
    return Status(201, {"url": url, "expires_at": link.expires_at})
