"""The functions that change the timetable's rows (one transaction each): parent links, the
parent's confirmation and change request, and the teachers' calendar feeds (R8, R17, R23.2;
SECURITY.md B12).

Tokens come from `secrets.token_urlsafe(32)` (256 bits); only their SHA-256 is stored and the
raw value is returned once to the caller. Parent-side functions take the link the caller found
by its token (`timetable.public`) and run inside the scope of the link's school.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from jiafang.accounts.models import User, hash_token
from jiafang.timetable.models import CalendarFeed, ParentLink
from jiafang.visits import permissions
from jiafang.visits import services as visit_services
from jiafang.visits.defaults import LOCAL_TZ
from jiafang.visits.models import Visit, VisitEvent

LINK_MAX_DAYS = 14  # a link expires at the end of the visit's day, and at most this long after
NOTE_MAX_CHARS = 200
PREFERRED_MAX = 3
EVENT_VIA = "parent_link"  # VisitEvent.data["via"] of what a parent did through a link


def visit_day_end(scheduled_at: dt.datetime) -> dt.datetime:
    """Midnight after the visit's local day (Asia/Shanghai)."""
    day = scheduled_at.astimezone(LOCAL_TZ).date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(0), tzinfo=LOCAL_TZ)


def parent_link_usable(link: ParentLink, now: dt.datetime | None = None) -> bool:
    """Not revoked, not expired, the visit still proposed or confirmed with a time, and its day
    not over (a reschedule to an earlier day shortens the link; to a later one it does not
    lengthen it: the teacher sends a new link with the new time)."""
    now = now or timezone.now()
    visit = link.visit
    return (link.revoked_at is None and now < link.expires_at
            and visit.status in visit_services.OPEN_STATES and visit.scheduled_at is not None
            and now < visit_day_end(visit.scheduled_at))


# --- the teacher's side -----------------------------------------------------------------------

@transaction.atomic
def parent_link_create(*, visit: Visit, by: User) -> tuple[ParentLink, str]:
    """A new link for the visit's family (revoking the previous one); returns the row and the
    raw token, which is never stored. Only those who may change the visit
    (`visits.permissions.can_change_visit`), only for a proposed or confirmed visit with a time
    whose day is not over."""
    if not permissions.can_change_visit(by, visit):
        raise PermissionDenied
    locked = Visit.objects.select_for_update().get(pk=visit.pk)
    if locked.status not in visit_services.OPEN_STATES:
        raise ValidationError({"status": [_("只有待确认或已确认的家访可以发家长链接。")]})
    if locked.scheduled_at is None:
        raise ValidationError({"scheduled_at": [_("请先约定家访时间。")]})
    now = timezone.now()
    expires_at = min(visit_day_end(locked.scheduled_at), now + dt.timedelta(days=LINK_MAX_DAYS))
    if expires_at <= now:
        raise ValidationError({"scheduled_at": [_("家访日期已过，不能再发家长链接。")]})
    ParentLink.objects.filter(visit=locked, revoked_at=None).update(revoked_at=now)
    raw = secrets.token_urlsafe(32)
    link = ParentLink.objects.create(school_id=locked.school_id, visit=locked,
                                     token_hash=hash_token(raw), created_by=by,
                                     expires_at=expires_at)
    return link, raw


@transaction.atomic
def parent_link_revoke(*, visit: Visit, by: User) -> int:
    """Revoke the visit's active link (sent to the wrong person, or no longer wanted)."""
    if not permissions.can_change_visit(by, visit):
        raise PermissionDenied
    return ParentLink.objects.filter(visit=visit, revoked_at=None).update(
        revoked_at=timezone.now())


# --- the parent's side (no account; the caller opened the scope of the link's school) ---------

@transaction.atomic
def parent_link_use(*, link: ParentLink) -> None:
    """Record one successful opening of the link (first and last time, count)."""
    now = timezone.now()
    ParentLink.objects.filter(pk=link.pk).update(
        first_used_at=Coalesce(F("first_used_at"), now), last_used_at=now,
        use_count=F("use_count") + 1)


def _usable_or_error(link: ParentLink) -> None:
    if not parent_link_usable(link):
        raise ValidationError({"__all__": [_("链接已失效，请联系老师。")]})


@transaction.atomic
def parent_link_confirm(*, link: ParentLink, expected_version: int | None) -> Visit:
    """The parent confirms the appointment they were shown (`expected_version`: the visit's
    version on their page; a reschedule in between raises StaleVersion)."""
    _usable_or_error(link)
    return visit_services.visit_confirm(
        visit=link.visit, by=None, expected_version=expected_version,
        event_data={"via": EVENT_VIA, "link": link.pk})


@transaction.atomic
def parent_change_request(*, link: ParentLink, note: str,
                          preferred: Sequence[dt.datetime] = ()) -> VisitEvent:
    """The parent asks for another time: a "家长希望改时间" event on the visit with their note
    and up to three preferred times; the visit itself stays as it is (the teacher
    reschedules)."""
    locked = Visit.objects.select_for_update().get(pk=link.visit_id)
    link.visit = locked
    _usable_or_error(link)
    errors: dict[str, list[str]] = {}
    note = (note or "").strip()
    if not note:
        errors["note"] = [_("请简单说明希望改到什么时候，或不方便的原因。")]
    elif len(note) > NOTE_MAX_CHARS:
        errors["note"] = [_("请不要超过 %(n)s 个字。") % {"n": NOTE_MAX_CHARS}]
    now = timezone.now()
    times = [t for t in preferred if t is not None]
    if len(times) > PREFERRED_MAX:
        errors["preferred"] = [_("最多填写 %(n)s 个时间。") % {"n": PREFERRED_MAX}]
    elif any(timezone.is_naive(t) or t <= now for t in times):
        errors["preferred"] = [_("希望的时间应在现在之后。")]
    if errors:
        raise ValidationError(errors)
    return VisitEvent.objects.create(
        school_id=locked.school_id, visit=locked, kind=VisitEvent.Kind.CHANGE_REQUESTED, at=now,
        by=None, data={"via": EVENT_VIA, "link": link.pk, "note": note,
                       "preferred": [t.isoformat() for t in sorted(times)]})


# --- calendar feeds ---------------------------------------------------------------------------

@transaction.atomic
def calendar_feed_create(*, user: User) -> tuple[CalendarFeed, str]:
    """A new secret feed URL for the user (the old one stops working); the raw token is
    returned once."""
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk"))
    CalendarFeed.objects.filter(user=user, revoked_at=None).update(revoked_at=timezone.now())
    raw = secrets.token_urlsafe(32)
    feed = CalendarFeed.objects.create(user=user, token_hash=hash_token(raw))
    return feed, raw


@transaction.atomic
def calendar_feed_revoke(*, user: User) -> int:
    return CalendarFeed.objects.filter(user=user, revoked_at=None).update(
        revoked_at=timezone.now())


def calendar_feed_touch(*, feed: CalendarFeed) -> None:
    """Record a sync, at most once an hour (phones poll often)."""
    now = timezone.now()
    if feed.last_used_at is None or now - feed.last_used_at > dt.timedelta(hours=1):
        CalendarFeed.objects.filter(pk=feed.pk).update(last_used_at=now)
