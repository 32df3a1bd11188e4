"""The functions that change home visits (one transaction each).

Callers (pages, API, parent link, demo) decide who may do what through the scoping layer; these
functions validate the data invariants (family and teachers of the visit's school, a campaign the
school takes part in, the visit's state, the record's required parts) and raise `ValidationError`
with Chinese messages per field, or `StaleVersion` when the caller's version is out of date.

They keep the derived tables current in the same transaction: `StudentVisitStatus` (per student)
through `_statuses_recompute`, then `CampaignSchoolFigures` (per school) through
`campaign_figures_refresh`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from jiafang.accounts.models import Role, User
from jiafang.campaigns.defaults import VisitForm
from jiafang.campaigns.models import Campaign, CampaignField
from jiafang.campaigns.selectors import campaign_includes_school
from jiafang.schools.models import Family, FocusFlag, Student
from jiafang.visits.defaults import (
    CONTENT_CODES,
    DEFAULT_DEMAND_CATEGORY,
    DEFAULT_TEACHING_HOURS,
    INTO_FAMILY_CODES,
    LOCAL_TZ,
    MAX_DURATION_MINUTES,
    MIN_DURATION_MINUTES,
    seed_demand_categories,
)
from jiafang.visits.models import (
    CampaignSchoolFigures,
    DemandCategory,
    ParentDemand,
    StudentVisitStatus,
    Visit,
    VisitCompanion,
    VisitEvent,
    VisitPreparation,
    VisitRecord,
    VisitRecordChild,
    VisitRecordDraft,
    VisitRecordRevision,
)
from jiafang.visits.selectors import visit_children

ENROLLED = Student.Status.ENROLLED
Status = Visit.Status
OPEN_STATES = (Status.PROPOSED, Status.CONFIRMED)
# visits that occupy their teachers' time (for double-booking warnings)
BUSY_STATES = (Status.PROPOSED, Status.CONFIRMED, Status.DONE)
FUTURE_TOLERANCE = dt.timedelta(minutes=10)
CHILD_PARTS = ("strengths", "shortcomings", "methods")
RECORD_FIELDS = ("visited_at", "form", "preparation", "process", "parent_demands", "contents",
                 "into_family", "children", "follow_up", "extra", "no_gifts_affirmed")


class StaleVersion(Exception):  # noqa: N818 - the API maps it to 412, pages to "changed"
    """The caller edited an out-of-date version (someone else changed it in between)."""

    def __init__(self, current_version: int):
        super().__init__(_("该内容已被他人修改，请刷新后重试。"))
        self.current_version = current_version


@dataclass(frozen=True)
class ScheduleWarning:
    """Something the scheduler should see but may accept (not an error)."""

    code: str  # double_booking, teaching_hours, outside_period
    message: str
    data: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ScheduleResult:
    visit: Visit
    warnings: list[ScheduleWarning]


# --- helpers ----------------------------------------------------------------------------------

def _errors() -> tuple[dict[str, list[str]], object]:
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    return errors, add


def _school_staff_ids(school_id: int, user_ids: Iterable[int]) -> set[int]:
    """Those of these users who hold any role at the school."""
    return set(Role.objects.filter(school_id=school_id, user_id__in=list(user_ids))
               .values_list("user_id", flat=True))


def _event(visit: Visit, kind: str, by: User | None, **data) -> VisitEvent:
    return VisitEvent.objects.create(school_id=visit.school_id, visit=visit, kind=kind,
                                     at=timezone.now(), by=by, data=data)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def _lock_visit(visit: Visit, expected_version: int | None = None) -> Visit:
    locked = Visit.objects.select_for_update().get(pk=visit.pk)
    if expected_version is not None and expected_version != locked.version:
        raise StaleVersion(locked.version)
    return locked


def _sync(target: Visit, source: Visit) -> None:
    """Copy the locked row's state into the caller's object."""
    for name in ("status", "status_reason", "scheduled_at", "version", "updated_at"):
        setattr(target, name, getattr(source, name))


def _minutes(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def teaching_hours_for(campaign: Campaign) -> dict:
    """The campaign's teaching hours (a bureau setting; the notice's default when empty)."""
    return campaign.teaching_hours or DEFAULT_TEACHING_HOURS


def in_teaching_hours(start: dt.datetime, minutes: int, hours: Mapping) -> bool:
    """Whether [start, start+minutes) overlaps a teaching period (local time)."""
    local = start.astimezone(LOCAL_TZ)
    end = local + dt.timedelta(minutes=minutes)
    day = local.date()
    while day <= end.date():
        if day.weekday() in hours.get("weekdays", []):
            for begin, finish in hours.get("periods", []):
                midnight = dt.datetime.combine(day, dt.time(0), tzinfo=LOCAL_TZ)
                p_start = midnight + dt.timedelta(minutes=_minutes(begin))
                p_end = midnight + dt.timedelta(minutes=_minutes(finish))
                if local < p_end and p_start < end:
                    return True
        day += dt.timedelta(days=1)
    return False


def schedule_warnings(*, campaign: Campaign, teacher_ids: Iterable[int],
                      scheduled_at: dt.datetime | None, duration_minutes: int,
                      exclude_visit_id: int | None = None) -> list[ScheduleWarning]:
    """Double-booking of any of the teachers, teaching hours, outside the campaign period."""
    if scheduled_at is None:
        return []
    warnings: list[ScheduleWarning] = []
    end = scheduled_at + dt.timedelta(minutes=duration_minutes)
    ids = sorted(set(teacher_ids))
    others = (Visit.objects.filter(status__in=BUSY_STATES, scheduled_at__lt=end,
                                   scheduled_at__gt=scheduled_at - dt.timedelta(
                                       minutes=MAX_DURATION_MINUTES))
              .filter(Q(lead_id__in=ids) | Q(companions__user_id__in=ids))
              .exclude(pk=exclude_visit_id).distinct()
              .prefetch_related("companions").order_by("scheduled_at", "pk"))
    for other in others:
        other_end = other.scheduled_at + dt.timedelta(minutes=other.duration_minutes)
        if other_end <= scheduled_at:
            continue
        busy = sorted({other.lead_id, *(c.user_id for c in other.companions.all())} & set(ids))
        warnings.append(ScheduleWarning(
            "double_booking",
            _("时间冲突：该时段已有其他家访安排（%(time)s）。") % {
                "time": timezone.localtime(other.scheduled_at).strftime("%m-%d %H:%M")},
            {"visit_id": other.pk, "teacher_ids": busy}))
    if in_teaching_hours(scheduled_at, duration_minutes, teaching_hours_for(campaign)):
        warnings.append(ScheduleWarning(
            "teaching_hours", _("家访时间与上课时间重叠，请尽量利用课余时间。")))
    local_day = scheduled_at.astimezone(LOCAL_TZ).date()
    if not campaign.starts_on <= local_day <= campaign.ends_on:
        warnings.append(ScheduleWarning("outside_period", _("家访时间不在活动期间内。")))
    return warnings


def _check_when(add, scheduled_at: dt.datetime | None, duration_minutes: int) -> None:
    if scheduled_at is not None and timezone.is_naive(scheduled_at):
        add("scheduled_at", _("时间必须带时区。"))
    if not MIN_DURATION_MINUTES <= duration_minutes <= MAX_DURATION_MINUTES:
        add("duration_minutes", _("预计时长应在 %(min)s 到 %(max)s 分钟之间。") % {
            "min": MIN_DURATION_MINUTES, "max": MAX_DURATION_MINUTES})


# --- appointments -----------------------------------------------------------------------------

@transaction.atomic
def visit_schedule(*, campaign: Campaign, family: Family, lead: User,
                   companions: Sequence[User] = (), scheduled_at: dt.datetime | None,
                   duration_minutes: int = 60, form: str = VisitForm.IN_PERSON,
                   by: User | None) -> ScheduleResult:
    """Propose a visit to a family (R8, R10, R17). Warnings (double-booking, teaching hours,
    outside the campaign period) are returned, not raised."""
    errors, add = _errors()
    school_id = family.school_id
    companion_ids = sorted({u.pk for u in companions} - {lead.pk})
    if campaign.archived:
        add("campaign", _("该活动已归档。"))
    elif not campaign_includes_school(campaign, school_id):
        add("campaign", _("该学校不在本次活动范围内。"))
    staff = _school_staff_ids(school_id, [lead.pk, *companion_ids])
    if lead.pk not in staff or not lead.is_active:
        add("lead", _("家访教师必须是本校教职工。"))
    if any(pk not in staff for pk in companion_ids):
        add("companions", _("同行教师必须是本校教职工。"))
    if form not in VisitForm.values:
        add("form", _("未知的家访形式。"))
    _check_when(add, scheduled_at, duration_minutes)
    if not Student.objects.filter(family=family, school_id=school_id, status=ENROLLED).exists():
        add("family", _("该家庭没有在读学生。"))
    if errors:
        raise ValidationError(errors)
    visit = Visit.objects.create(
        school_id=school_id, campaign=campaign, family=family, lead=lead, form=form,
        scheduled_at=scheduled_at, duration_minutes=duration_minutes, created_by=by)
    VisitCompanion.objects.bulk_create([VisitCompanion(school_id=school_id, visit=visit, user_id=pk)
                                        for pk in companion_ids])
    _event(visit, VisitEvent.Kind.SCHEDULED, by, scheduled_at=_iso(scheduled_at),
           lead=lead.pk, companions=companion_ids, form=form)
    warnings = schedule_warnings(campaign=campaign, teacher_ids=[lead.pk, *companion_ids],
                                 scheduled_at=scheduled_at, duration_minutes=duration_minutes,
                                 exclude_visit_id=visit.pk)
    return ScheduleResult(visit, warnings)


@transaction.atomic
def visit_confirm(*, visit: Visit, by: User | None,
                  expected_version: int | None = None,
                  event_data: Mapping | None = None) -> Visit:
    """proposed → confirmed (by a teacher, or by the parent link with by=None and
    `event_data` naming the link). Confirming a confirmed visit again changes nothing (a double
    click)."""
    locked = _lock_visit(visit, expected_version)
    if locked.status == Status.CONFIRMED:
        _sync(visit, locked)
        return visit
    if locked.status != Status.PROPOSED:
        raise ValidationError({"status": [_("只有待确认的家访可以确认。")]})
    if locked.scheduled_at is None:
        raise ValidationError({"scheduled_at": [_("请先约定家访时间。")]})
    locked.status = Status.CONFIRMED
    locked.version += 1
    locked.save(update_fields=["status", "version", "updated_at"])
    _event(locked, VisitEvent.Kind.CONFIRMED, by, **{**(event_data or {}),
                                                     "scheduled_at": _iso(locked.scheduled_at)})
    _sync(visit, locked)
    return visit


@transaction.atomic
def visit_reschedule(*, visit: Visit, scheduled_at: dt.datetime,
                     duration_minutes: int | None = None, by: User | None,
                     expected_version: int | None) -> ScheduleResult:
    """Another time: recorded as an event; the visit goes back to proposed with the new time."""
    locked = _lock_visit(visit, expected_version)
    if locked.status not in OPEN_STATES:
        raise ValidationError({"status": [_("该家访已结束，不能改期。")]})
    errors, add = _errors()
    if scheduled_at is None:
        add("scheduled_at", _("请填写新的家访时间。"))
    minutes = duration_minutes or locked.duration_minutes
    _check_when(add, scheduled_at, minutes)
    if errors:
        raise ValidationError(errors)
    old = locked.scheduled_at
    locked.scheduled_at = scheduled_at
    locked.duration_minutes = minutes
    locked.status = Status.PROPOSED
    locked.version += 1
    locked.save(update_fields=["scheduled_at", "duration_minutes", "status", "version",
                               "updated_at"])
    _event(locked, VisitEvent.Kind.RESCHEDULED, by, old=_iso(old), new=_iso(scheduled_at))
    _sync(visit, locked)
    visit.duration_minutes = minutes
    teacher_ids = [locked.lead_id, *locked.companions.values_list("user_id", flat=True)]
    warnings = schedule_warnings(campaign=locked.campaign, teacher_ids=teacher_ids,
                                 scheduled_at=scheduled_at, duration_minutes=minutes,
                                 exclude_visit_id=locked.pk)
    return ScheduleResult(visit, warnings)


def _close(visit: Visit, *, status: str, kind: str, reason: str, by: User | None,
           expected_version: int | None) -> Visit:
    if not (reason or "").strip():
        raise ValidationError({"reason": [_("请填写原因。")]})
    locked = _lock_visit(visit, expected_version)
    if locked.status not in OPEN_STATES:
        raise ValidationError({"status": [_("该家访已结束，不能再更改状态。")]})
    locked.status = status
    locked.status_reason = reason.strip()[:200]
    locked.version += 1
    locked.save(update_fields=["status", "status_reason", "version", "updated_at"])
    _event(locked, kind, by, reason=locked.status_reason)
    _sync(visit, locked)
    return locked


@transaction.atomic
def visit_decline(*, visit: Visit, reason: str, by: User | None,
                  expected_version: int | None = None) -> Visit:
    """The family declines (家长婉拒), with a reason: a legitimate, recorded outcome. Its enrolled
    children are shown as declined (not visited) until a later visit is recorded."""
    locked = _close(visit, status=Status.DECLINED, kind=VisitEvent.Kind.DECLINED, reason=reason,
                    by=by, expected_version=expected_version)
    student_ids = [s.pk for s in visit_children(locked.family)]
    _statuses_recompute(campaign=locked.campaign, student_ids=student_ids)
    campaign_figures_refresh(campaign=locked.campaign, school_ids=[locked.school_id])
    return visit


@transaction.atomic
def visit_cancel(*, visit: Visit, reason: str, by: User | None,
                 expected_version: int | None = None) -> Visit:
    """The school cancels the appointment, with a reason (coverage is not affected)."""
    _close(visit, status=Status.CANCELLED, kind=VisitEvent.Kind.CANCELLED, reason=reason, by=by,
           expected_version=expected_version)
    return visit


# --- the record -------------------------------------------------------------------------------

def default_demand_category() -> DemandCategory:
    category = DemandCategory.objects.filter(code=DEFAULT_DEMAND_CATEGORY).first()
    if category is None:  # the seeded rows were flushed (transactional tests)
        seed_demand_categories(DemandCategory)
        category = DemandCategory.objects.get(code=DEFAULT_DEMAND_CATEGORY)
    return category


def parent_demands_split(text: str) -> list[str]:
    """家长诉求 typed as lines or numbered items → one text per demand (for pages and the API)."""
    import re

    items = []
    for line in re.split(r"[\r\n；;]+", text or ""):
        line = re.sub(r"^\s*(?:\d+|[一二三四五六七八九十]+)\s*[、.．)）]\s*", "", line).strip()
        if line:
            items.append(line)
    return items


def _clean_codes(add, name: str, values: Iterable[str], known: tuple[str, ...]) -> list[str]:
    chosen = set(values or [])
    if chosen - set(known):
        add(name, _("包含未知的选项。"))
    return [code for code in known if code in chosen]


def _clean_extra(add, campaign: Campaign, extra: Mapping | None) -> dict:
    fields = {f.key: f for f in CampaignField.objects.filter(campaign=campaign)}
    values = dict(extra or {})
    cleaned: dict = {}
    for key in values:
        if key not in fields:
            add("extra", _("未知的字段：%(key)s") % {"key": key})
    for key, f in fields.items():
        value = values.get(key)
        if isinstance(value, str):
            value = value.strip()
        empty = value is None or value == ""
        if empty:
            if f.required:
                add(f"extra.{key}", _("请填写“%(label)s”。") % {"label": f.label})
            continue
        if f.kind == CampaignField.Kind.YES_NO:
            if not isinstance(value, bool):
                add(f"extra.{key}", _("“%(label)s”只能是是或否。") % {"label": f.label})
                continue
        elif f.kind == CampaignField.Kind.CHOICE:
            if value not in (f.choices or []):
                add(f"extra.{key}", _("“%(label)s”的选项无效。") % {"label": f.label})
                continue
        elif not isinstance(value, str):
            add(f"extra.{key}", _("“%(label)s”必须是文字。") % {"label": f.label})
            continue
        elif len(value) > 2000:
            add(f"extra.{key}", _("“%(label)s”不能超过2000字。") % {"label": f.label})
            continue
        cleaned[key] = value
    return cleaned


def _clean_demands(add, parent_demands: Iterable) -> list[tuple[str, DemandCategory | None]]:
    cleaned = []
    for item in parent_demands or []:
        text, category = (item, None) if isinstance(item, str) else item
        text = (text or "").strip()
        if not text:
            continue
        if category is not None and not isinstance(category, DemandCategory):
            category = DemandCategory.objects.filter(pk=category).first()
            if category is None:
                add("parent_demands", _("未知的诉求类别。"))
                continue
        if len(text) > 1000:
            add("parent_demands", _("每条诉求不能超过1000字。"))
            continue
        cleaned.append((text, category))
    return cleaned


@dataclass
class _CleanRecord:
    visited_at: dt.datetime
    form: str
    preparation: str
    process: str
    demands: list[tuple[str, DemandCategory | None]]
    contents: list[str]
    into_family: list[str]
    children: dict[int, dict[str, str]]
    follow_up: str
    extra: dict


def _clean_record(*, visit: Visit, child_ids: list[int], values: Mapping) -> _CleanRecord:
    """Every rule of a record; raises one ValidationError with all problems, writes nothing."""
    errors, add = _errors()
    visited_at = values.get("visited_at")
    if not isinstance(visited_at, dt.datetime) or timezone.is_naive(visited_at):
        add("visited_at", _("请填写家访时间（带时区）。"))
    elif visited_at > timezone.now() + FUTURE_TOLERANCE:
        add("visited_at", _("家访时间不能晚于现在。"))
    form = values.get("form")
    if form not in VisitForm.values:
        add("form", _("未知的家访形式。"))
    texts = {}
    for name, label, limit in (("preparation", "家访准备", 5000), ("process", "家访过程", 10000),
                               ("follow_up", "跟进措施", 5000)):
        text = (values.get(name) or "").strip()
        if name != "follow_up" and not text:
            add(name, _("请填写“%(label)s”。") % {"label": label})
        elif len(text) > limit:
            add(name, _("“%(label)s”太长了。") % {"label": label})
        texts[name] = text
    demands = _clean_demands(add, values.get("parent_demands"))
    contents = _clean_codes(add, "contents", values.get("contents"), CONTENT_CODES)
    into_family = _clean_codes(add, "into_family", values.get("into_family"), INTO_FAMILY_CODES)
    given = {int(k): v for k, v in (values.get("children") or {}).items()}
    children: dict[int, dict[str, str]] = {}
    if set(given) - set(child_ids):
        add("children", _("只能记录该家庭在本校在读的孩子。"))
    labels = {"strengths": "优点", "shortcomings": "不足", "methods": "改进方法"}
    for student_id in child_ids:
        parts = given.get(student_id) or {}
        cleaned = {name: (parts.get(name) or "").strip() for name in CHILD_PARTS}
        missing = [labels[name] for name in CHILD_PARTS if not cleaned[name]]
        if missing:
            add(f"children.{student_id}", _("请填写孩子的%(parts)s（优点、不足和方法都要写）。")
                % {"parts": "、".join(missing)})
        children[student_id] = cleaned
    extra = _clean_extra(add, visit.campaign, values.get("extra"))
    if values.get("no_gifts_affirmed") is not True:
        add("no_gifts_affirmed", _("请确认未接受家长宴请和礼品。"))
    if errors:
        raise ValidationError(errors)
    return _CleanRecord(visited_at=visited_at, form=form, preparation=texts["preparation"],
                        process=texts["process"], demands=demands, contents=contents,
                        into_family=into_family, children=children,
                        follow_up=texts["follow_up"], extra=extra)


def _counts(campaign: Campaign, form: str, visited_at: dt.datetime) -> bool:
    """A record counts toward coverage in a counting form, inside the campaign period."""
    day = visited_at.astimezone(LOCAL_TZ).date()
    return form in (campaign.counting_forms or []) and campaign.starts_on <= day <= campaign.ends_on


def _write_demands(record: VisitRecord, demands: list[tuple[str, DemandCategory | None]]) -> None:
    """Replace the record's open demands by this list; demands already handled are kept, and an
    open demand listed again keeps its row."""
    default = default_demand_category() if any(c is None for _t, c in demands) else None
    existing = list(ParentDemand.objects.filter(record=record))
    open_by_text = {d.text: d for d in existing if d.status == ParentDemand.Status.OPEN}
    kept_ids = set()
    for position, (text, category) in enumerate(demands):
        row = open_by_text.pop(text, None)
        if row is not None:
            row.position = position
            row.category = category or row.category
            row.save(update_fields=["position", "category"])
            kept_ids.add(row.pk)
            continue
        if any(d.text == text and d.status != ParentDemand.Status.OPEN for d in existing):
            continue
        ParentDemand.objects.create(school_id=record.school_id, record=record,
                                    family_id=record.visit.family_id, text=text,
                                    category=category or default, position=position)
    stale = [d.pk for d in open_by_text.values() if d.pk not in kept_ids]
    if stale:
        ParentDemand.objects.filter(pk__in=stale).delete()


@transaction.atomic
def visit_record_submit(*, visit: Visit, by: User | None, visited_at: dt.datetime, form: str,
                        preparation: str, process: str,
                        parent_demands: Iterable[tuple[str, DemandCategory | int | None] | str],
                        contents: Iterable[str], into_family: Iterable[str],
                        children: Mapping[int, Mapping[str, str]], follow_up: str = "",
                        extra: Mapping | None = None, no_gifts_affirmed: bool) -> VisitRecord:
    """Record a visit (附件2, R6, R9, R12, R23): all enrolled children of the family at the school,
    each with strengths, shortcomings and methods; the no-gifts affirmation. The visit becomes
    done, parent demands become rows, the children's statuses and the school's figures follow."""
    locked = _lock_visit(visit)
    if locked.status not in OPEN_STATES:
        raise ValidationError({"status": [_("已取消或已婉拒的家访不能记录。")
                                          if locked.status != Status.DONE
                                          else _("该家访已有记录，请修改原记录。")]})
    campaign = locked.campaign
    child_ids = [s.pk for s in visit_children(locked.family)]
    if not child_ids:
        raise ValidationError({"family": [_("该家庭没有在读学生。")]})
    clean = _clean_record(visit=locked, child_ids=child_ids, values={
        "visited_at": visited_at, "form": form, "preparation": preparation, "process": process,
        "parent_demands": parent_demands, "contents": contents, "into_family": into_family,
        "children": children, "follow_up": follow_up, "extra": extra,
        "no_gifts_affirmed": no_gifts_affirmed})
    now = timezone.now()
    record = VisitRecord.objects.create(
        school_id=locked.school_id, visit=locked, visited_at=clean.visited_at, form=clean.form,
        preparation=clean.preparation, process=clean.process,
        parent_demands_text="\n".join(text for text, _c in clean.demands),
        contents=clean.contents, into_family=clean.into_family, follow_up=clean.follow_up,
        extra=clean.extra, no_gifts_affirmed=True,
        counts=_counts(campaign, clean.form, clean.visited_at),
        submitted_at=now, submitted_by=by)
    VisitRecordChild.objects.bulk_create([
        VisitRecordChild(school_id=locked.school_id, record=record, student_id=pk, **parts)
        for pk, parts in clean.children.items()])
    _write_demands(record, clean.demands)
    VisitRecordDraft.objects.filter(visit=locked).delete()  # the drafts have served
    locked.status = Status.DONE
    locked.version += 1
    locked.save(update_fields=["status", "version", "updated_at"])
    _event(locked, VisitEvent.Kind.RECORDED, by, form=clean.form,
           visited_at=_iso(clean.visited_at), counts=record.counts)
    _sync(visit, locked)
    _statuses_recompute(campaign=campaign, student_ids=child_ids)
    campaign_figures_refresh(campaign=campaign, school_ids=[locked.school_id])
    return record


def record_snapshot(record: VisitRecord) -> dict:
    """The record's content as JSON (what a revision keeps)."""
    return {
        "visited_at": _iso(record.visited_at), "form": record.form,
        "preparation": record.preparation, "process": record.process,
        "parent_demands_text": record.parent_demands_text,
        "parent_demands": [[d.text, d.category_id, d.status] for d in
                           ParentDemand.objects.filter(record=record).order_by("position", "pk")],
        "contents": list(record.contents), "into_family": list(record.into_family),
        "follow_up": record.follow_up, "extra": dict(record.extra),
        "no_gifts_affirmed": record.no_gifts_affirmed, "counts": record.counts,
        "children": {str(c.student_id): {p: getattr(c, p) for p in CHILD_PARTS}
                     for c in VisitRecordChild.objects.filter(record=record)},
    }


@transaction.atomic
def visit_record_amend(*, record: VisitRecord, by: User | None, expected_version: int,
                       **changes) -> VisitRecord:
    """Amend a submitted record (G1): the old content is kept as a revision, the version goes
    up, and statuses and figures are re-evaluated (a form changed to phone no longer counts).
    `changes` takes the keyword arguments of `visit_record_submit`; `children` may name only
    some of the recorded children. A stale `expected_version` raises StaleVersion."""
    unknown = set(changes) - set(RECORD_FIELDS)
    if unknown:
        raise ValidationError({"changes": [_("不能修改这些内容：%(names)s") % {
            "names": "、".join(sorted(unknown))}]})
    locked = VisitRecord.objects.select_for_update().select_related(
        "visit", "visit__campaign").get(pk=record.pk)
    if expected_version != locked.version:
        raise StaleVersion(locked.version)
    before = record_snapshot(locked)
    child_ids = sorted(int(k) for k in before["children"])
    current = {
        "visited_at": locked.visited_at, "form": locked.form,
        "preparation": locked.preparation, "process": locked.process,
        "parent_demands": [(t, c) for t, c, _s in before["parent_demands"]],
        "contents": locked.contents, "into_family": locked.into_family,
        "follow_up": locked.follow_up, "extra": locked.extra,
        "no_gifts_affirmed": locked.no_gifts_affirmed,
    }
    children = {int(k): dict(v) for k, v in before["children"].items()}
    for key, parts in (changes.get("children") or {}).items():
        if int(key) not in children:
            raise ValidationError({"children": [_("只能修改记录中的孩子。")]})
        children[int(key)].update({p: parts[p] for p in CHILD_PARTS if p in parts})
    values = {**current, **{k: v for k, v in changes.items() if k != "children"},
              "children": children}
    clean = _clean_record(visit=locked.visit, child_ids=child_ids, values=values)
    campaign = locked.visit.campaign
    now = timezone.now()
    VisitRecordRevision.objects.create(school_id=locked.school_id, record=locked,
                                       version=locked.version, data=before, edited_by=by,
                                       edited_at=now)
    locked.visited_at = clean.visited_at
    locked.form = clean.form
    locked.preparation = clean.preparation
    locked.process = clean.process
    locked.contents = clean.contents
    locked.into_family = clean.into_family
    locked.follow_up = clean.follow_up
    locked.extra = clean.extra
    locked.counts = _counts(campaign, clean.form, clean.visited_at)
    if "parent_demands" in changes:
        locked.parent_demands_text = "\n".join(text for text, _c in clean.demands)
        _write_demands(locked, clean.demands)
    locked.version += 1
    locked.save(update_fields=["visited_at", "form", "preparation", "process", "contents",
                               "into_family", "follow_up", "extra", "counts",
                               "parent_demands_text", "version", "updated_at"])
    rows = {c.student_id: c for c in VisitRecordChild.objects.filter(record=locked)}
    changed_rows = []
    for student_id, parts in clean.children.items():
        row = rows[student_id]
        if any(getattr(row, p) != parts[p] for p in CHILD_PARTS):
            for p in CHILD_PARTS:
                setattr(row, p, parts[p])
            changed_rows.append(row)
    if changed_rows:
        VisitRecordChild.objects.bulk_update(changed_rows, list(CHILD_PARTS))
    after = record_snapshot(locked)
    _event(locked.visit, VisitEvent.Kind.AMENDED, by, version=locked.version,
           fields=sorted(k for k in after if after[k] != before.get(k)))
    _statuses_recompute(campaign=campaign, student_ids=child_ids)
    campaign_figures_refresh(campaign=campaign, school_ids=[locked.school_id])
    record.refresh_from_db()
    return record


# --- derived data: statuses and figures -------------------------------------------------------

def _statuses_recompute(*, campaign: Campaign, student_ids: Iterable[int]) -> None:
    """Recompute these students' StudentVisitStatus from the records and declined visits (a
    student is visited by any counting record; declined when the family declined and no
    counting record exists). Rows for students neither visited nor declined are removed."""
    ids = sorted(set(student_ids))
    if not ids:
        return
    students = {s.pk: s for s in Student.objects.filter(pk__in=ids)}
    first_visit: dict[int, tuple[dt.datetime, int]] = {}
    for student_id, visited_at, visit_id in (
            VisitRecordChild.objects.filter(student_id__in=ids, record__counts=True,
                                            record__visit__campaign=campaign)
            .values_list("student_id", "record__visited_at", "record__visit_id")
            .order_by("record__visited_at", "record__visit_id")):
        first_visit.setdefault(student_id, (visited_at, visit_id))
    declined_families = set(Visit.objects.filter(
        campaign=campaign, status=Status.DECLINED,
        family_id__in={s.family_id for s in students.values()}).values_list("family_id", flat=True))
    existing = {row.student_id: row for row in StudentVisitStatus.objects.select_for_update()
                .filter(campaign=campaign, student_id__in=ids)}
    to_create, to_update, to_delete = [], [], []
    for student_id in ids:
        student = students.get(student_id)
        if student is None:
            continue
        visited = first_visit.get(student_id)
        declined = visited is None and student.family_id in declined_families
        row = existing.get(student_id)
        if visited is None and not declined:
            if row is not None:
                to_delete.append(row.pk)
            continue
        values = {"school_id": student.school_id, "school_class_id": student.school_class_id,
                  "family_id": student.family_id, "visited": visited is not None,
                  "visited_at": visited[0] if visited else None,
                  "visit_id": visited[1] if visited else None, "declined": declined}
        if row is None:
            to_create.append(StudentVisitStatus(campaign=campaign, student_id=student_id,
                                                **values))
        else:
            for name, value in values.items():
                setattr(row, name, value)
            to_update.append(row)
    if to_delete:
        StudentVisitStatus.objects.filter(pk__in=to_delete).delete()
    if to_create:
        StudentVisitStatus.objects.bulk_create(to_create)
    if to_update:
        StudentVisitStatus.objects.bulk_update(
            to_update, ["school_id", "school_class_id", "family_id", "visited", "visited_at",
                        "visit_id", "declined"])


@transaction.atomic
def campaign_figures_refresh(*, campaign: Campaign, school_ids: Iterable[int]) -> None:
    """Recompute the campaign's coverage figures of these schools (constant number of grouped
    queries). Rows are locked first in school id order, so two writers cannot deadlock and the
    second counts what the first committed."""
    ids = sorted(set(school_ids))
    if not ids:
        return
    figures = CampaignSchoolFigures.objects
    figures.bulk_create([CampaignSchoolFigures(campaign=campaign, school_id=i) for i in ids],
                        ignore_conflicts=True)
    locked = list(figures.select_for_update().filter(campaign=campaign, school_id__in=ids)
                  .order_by("school_id"))
    statuses = StudentVisitStatus.objects.filter(campaign=campaign, school_id__in=ids,
                                                 student__status=ENROLLED).order_by()
    visited = statuses.filter(visited=True)
    active_flag = FocusFlag.objects.filter(student=OuterRef("student_id"), cleared_at=None)
    counted = {row["school_id"]: row for row in visited.values("school_id").annotate(
        students=Count("student", distinct=True),
        families=Count("student__family", distinct=True),
        focus=Count("student", distinct=True, filter=Q(Exists(active_flag))))}
    declined = dict(statuses.filter(declined=True, visited=False).values_list("school_id")
                    .annotate(n=Count("student__family", distinct=True)))
    by_category: dict[int, dict[str, int]] = {}
    flags = FocusFlag.objects.filter(
        school_id__in=ids, cleared_at=None, student__status=ENROLLED).filter(Exists(
            StudentVisitStatus.objects.filter(campaign=campaign, student=OuterRef("student_id"),
                                              visited=True))).order_by()
    for school_id, category_id, n in flags.values_list("school_id", "category_id").annotate(
            n=Count("student", distinct=True)):
        by_category.setdefault(school_id, {})[str(category_id)] = n
    principal = Role.objects.filter(user=OuterRef("lead_id"), school=OuterRef("school_id"),
                                    kind=Role.Kind.PRINCIPAL)
    principal_visits = dict(
        Visit.objects.filter(campaign=campaign, school_id__in=ids, status=Status.DONE,
                             record__counts=True).filter(Exists(principal)).order_by()
        .values_list("school_id").annotate(n=Count("pk")))
    now = timezone.now()
    for row in locked:
        c = counted.get(row.school_id, {})
        row.students_visited = c.get("students", 0)
        row.families_visited = c.get("families", 0)
        row.focus_students_visited = c.get("focus", 0)
        row.by_category_visited = by_category.get(row.school_id, {})
        row.principal_visits = principal_visits.get(row.school_id, 0)
        row.families_declined = declined.get(row.school_id, 0)
        row.updated_at = now
    figures.bulk_update(locked, ["students_visited", "families_visited", "focus_students_visited",
                                 "by_category_visited", "principal_visits", "families_declined",
                                 "updated_at"])


@transaction.atomic
def campaign_visits_reevaluate(*, campaign: Campaign, school_ids: Iterable[int] | None = None
                               ) -> None:
    """Re-evaluate every record's `counts`, every status and the figures of a campaign: for a
    change of its counting forms or period, or as a safety net (cron)."""
    records = VisitRecord.objects.filter(visit__campaign=campaign)
    if school_ids is not None:
        records = records.filter(school_id__in=list(school_ids))
    changed = []
    for record in records.only("pk", "form", "visited_at", "counts", "school_id"):
        counts = _counts(campaign, record.form, record.visited_at)
        if counts != record.counts:
            record.counts = counts
            changed.append(record)
    if changed:
        VisitRecord.objects.bulk_update(changed, ["counts"])
    visits = Visit.objects.filter(campaign=campaign)
    if school_ids is not None:
        visits = visits.filter(school_id__in=list(school_ids))
    statuses = StudentVisitStatus.objects.filter(campaign=campaign)
    figures = CampaignSchoolFigures.objects.filter(campaign=campaign)
    if school_ids is not None:  # only these schools' rows (a per-school pass stays linear)
        statuses = statuses.filter(school_id__in=list(school_ids))
        figures = figures.filter(school_id__in=list(school_ids))
    student_ids = set(Student.objects.filter(family_id__in=visits.values("family_id"))
                      .values_list("pk", flat=True))
    student_ids |= set(statuses.values_list("student_id", flat=True))
    _statuses_recompute(campaign=campaign, student_ids=student_ids)
    schools = set(visits.values_list("school_id", flat=True)) | set(
        figures.values_list("school_id", flat=True))
    campaign_figures_refresh(campaign=campaign, school_ids=schools)



# --- drafts of the record (issue 3 pt 6: survives a dropped connection and a closed tab) -------

DRAFT_MAX_CHARS = 100_000
DRAFT_MAX_FIELDS = 300


def visit_record_draft_key(*, visit: Visit, user: User) -> str:
    """The AES-GCM key (256 bits, base64url) the record page uses to encrypt its offline copy
    in localStorage: derived with HMAC from SECRET_KEY, the user and the visit, so it is stable
    across page loads, differs per user and visit, and is never stored (F11)."""
    import base64
    import hashlib
    import hmac

    from django.conf import settings

    digest = hmac.new(settings.SECRET_KEY.encode(),
                      f"jiafang.visit-record-draft:{user.pk}:{visit.pk}".encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


@transaction.atomic
def visit_record_draft_save(*, visit: Visit, user: User, data: Mapping) -> VisitRecordDraft:
    """Keep the record form as the user is typing it (one row per visit and user, overwritten).
    Values are strings or lists of strings (the form's fields); nothing is validated as a record
    until it is submitted. Only a visit not yet recorded, cancelled or declined takes drafts."""
    import json

    if visit.status not in OPEN_STATES:
        raise ValidationError({"status": [_("该家访已结束或已有记录，草稿不再保存。")]})
    if not isinstance(data, Mapping) or len(data) > DRAFT_MAX_FIELDS:
        raise ValidationError({"data": [_("草稿格式不正确。")]})
    clean: dict[str, str | list[str]] = {}
    for name, value in data.items():
        if not isinstance(name, str) or len(name) > 100:
            raise ValidationError({"data": [_("草稿格式不正确。")]})
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            clean[name] = list(value)
        elif isinstance(value, str):
            clean[name] = value
        else:
            raise ValidationError({"data": [_("草稿格式不正确。")]})
    if len(json.dumps(clean, ensure_ascii=False)) > DRAFT_MAX_CHARS:
        raise ValidationError({"data": [_("草稿太长了。")]})
    draft, _created = VisitRecordDraft.objects.update_or_create(
        visit=visit, user=user,
        defaults={"school_id": visit.school_id, "data": clean, "saved_at": timezone.now()})
    return draft


def visit_record_draft_discard(*, visit: Visit, user: User) -> None:
    VisitRecordDraft.objects.filter(visit=visit, user=user).delete()


# --- preparation (家访准备, R11, R23.1) -----------------------------------------------------------

PREPARATION_FIELDS = ("topics", "strengths_to_praise", "concerns")
PREPARATION_MAX_CHARS = 1500  # each; the three together fit the record's 家访准备 (5000)


def preparation_labels() -> dict[str, str]:
    """The three parts of the notes with their (translated) names, in order."""
    return {"topics": _("沟通话题"), "strengths_to_praise": _("值得肯定的优点"),
            "concerns": _("关注的问题及拟采取的方法")}


@transaction.atomic
def visit_preparation_save(*, visit: Visit, by: User | None, topics: str = "",
                           strengths_to_praise: str = "", concerns: str = "",
                           expected_version: int) -> VisitPreparation:
    """Write the visit's preparation notes (all three replaced). Allowed while the visit is
    proposed or confirmed; at least one part must be non-empty. `expected_version` is the
    version the writer saw, 0 when there were no notes yet; another raises StaleVersion (the
    visit row is locked first, so two first saves cannot both win). A save that changes nothing
    writes nothing; any other bumps the version and adds a "家访准备" event naming the parts
    that changed (who prepared what, when)."""
    locked = _lock_visit(visit)
    current = VisitPreparation.objects.filter(visit=locked).first()
    if expected_version != (current.version if current else 0):
        raise StaleVersion(current.version if current else 0)
    errors, add = _errors()
    if locked.status not in OPEN_STATES:
        add("status", _("该家访已结束，准备内容不能再修改。"))
    values = {"topics": topics, "strengths_to_praise": strengths_to_praise,
              "concerns": concerns}
    clean = {}
    for name, label in preparation_labels().items():
        text = (values[name] or "").strip()
        if len(text) > PREPARATION_MAX_CHARS:
            add(name, _("“%(label)s”不能超过%(n)s字。") % {"label": label,
                                                          "n": PREPARATION_MAX_CHARS})
        clean[name] = text
    if not any(clean.values()):
        add("__all__", _("请至少填写一项：沟通话题、值得肯定的优点，或关注的问题及拟采取的方法。"))
    if errors:
        raise ValidationError(errors)
    changed = [name for name in PREPARATION_FIELDS
               if current is None or getattr(current, name) != clean[name]]
    if current is not None and not changed:
        return current
    now = timezone.now()
    if current is None:
        current = VisitPreparation.objects.create(
            school_id=locked.school_id, visit=locked, updated_by=by, updated_at=now, version=1,
            **clean)
    else:
        for name in changed:
            setattr(current, name, clean[name])
        current.updated_by = by
        current.updated_at = now
        current.version += 1
        current.save(update_fields=[*changed, "updated_by", "updated_at", "version"])
    _event(locked, VisitEvent.Kind.PREPARED, by, version=current.version, fields=changed)
    return current
