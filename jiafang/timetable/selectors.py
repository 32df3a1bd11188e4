"""Scoped reads of the timetable: a teacher's week, the parent's view of a linked visit, the
state of a visit's parent link and the visits of a calendar feed (R8, R17, R23.2).

Who may open whose week: everyone their own; the principal and the coordinator any staff member
of their school (that school's visits only); anyone else asking for another teacher gets 404,
exactly like an unknown id. Family details follow the scoping layer: a viewer sees the names of
the children they may see (`scoping.students_for_user`) and a count of the others. Constant
query counts whatever the number of visits (tests assert it).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from django.db.models import Prefetch, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from jiafang.accounts.models import Role, User
from jiafang.campaigns.defaults import WEEKDAY_NAMES, teaching_hours_text
from jiafang.schools import scoping
from jiafang.schools.models import Student
from jiafang.timetable.models import CalendarFeed, ParentLink
from jiafang.visits.defaults import DEFAULT_TEACHING_HOURS, LOCAL_TZ
from jiafang.visits.models import Visit, VisitCompanion
from jiafang.visits.permissions import can_record_visit
from jiafang.visits.selectors import visible_children_of_families
from jiafang.visits.services import in_teaching_hours, teaching_hours_for

ENROLLED = Student.Status.ENROLLED
FEED_PAST_DAYS = 30
WEEK_RE = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)

# --- weeks --------------------------------------------------------------------------------

def parse_week(text: str | None) -> dt.date | None:
    """The Monday of an ISO week "2026-W15"; None when empty; ValueError when malformed."""
    if not text:
        return None
    match = WEEK_RE.match(text.strip())
    if not match or not 2000 <= int(match.group(1)) <= 2100:  # and no date overflow at the ends
        raise ValueError(text)
    return dt.date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)


def week_label(monday: dt.date) -> str:
    year, week, _day = monday.isocalendar()
    return f"{year}-W{week:02d}"


def current_monday() -> dt.date:
    today = timezone.now().astimezone(LOCAL_TZ).date()
    return today - dt.timedelta(days=today.weekday())


# --- whose week ---------------------------------------------------------------------------

def calendar_teacher(viewer: User, teacher_id: object) -> tuple[User, frozenset[int]]:
    """The teacher whose week the viewer asked for and the schools whose visits are shown.
    404 for anyone but the viewer, unless the viewer leads a school where that person works."""
    access = scoping.access_for(viewer)
    if teacher_id in (None, "") or str(teacher_id) == str(viewer.pk):
        return viewer, access.school_ids
    pk = scoping.id_or_404(teacher_id)
    if not access.managed_school_ids:
        raise Http404
    schools = frozenset(Role.objects.filter(
        user_id=pk, user__is_active=True, school_id__in=access.managed_school_ids,
    ).values_list("school_id", flat=True))
    if not schools:
        raise Http404
    return User.objects.get(pk=pk), schools


def staff_choices(viewer: User) -> list[User]:
    """Whom a principal or coordinator may pick: the active staff of their schools."""
    managed = scoping.access_for(viewer).managed_school_ids
    if not managed:
        return []
    return list(User.objects.filter(
        is_active=True, pk__in=Role.objects.filter(school_id__in=managed).values("user_id"))
        .order_by("full_name", "username", "pk"))


# --- the week -----------------------------------------------------------------------------

@dataclass
class Entry:
    visit: Visit
    starts: dt.datetime  # local
    ends: dt.datetime
    role: str  # lead, companion
    companions: list[User]
    children: list[Student]
    hidden_children: int
    in_teaching_hours: bool
    can_open: bool  # the viewer may open the visit page

    @property
    def role_label(self) -> str:
        return _("家访教师") if self.role == "lead" else _("同行教师")


@dataclass
class Day:
    date: dt.date
    weekday: str
    is_today: bool
    entries: list[Entry] = field(default_factory=list)


@dataclass
class Week:
    teacher: User
    monday: dt.date
    days: list[Day]
    teaching_hours: str

    @property
    def label(self) -> str:
        return week_label(self.monday)

    @property
    def previous(self) -> str:
        return week_label(self.monday - dt.timedelta(days=7))

    @property
    def next(self) -> str:
        return week_label(self.monday + dt.timedelta(days=7))

    @property
    def sunday(self) -> dt.date:
        return self.monday + dt.timedelta(days=6)

    @property
    def count(self) -> int:
        return sum(len(d.entries) for d in self.days)


def _teacher_visits(teacher: User, school_ids, start: dt.datetime, end: dt.datetime | None):
    qs = (Visit.objects.filter(school_id__in=list(school_ids), scheduled_at__gte=start)
          .filter(Q(lead=teacher) | Q(pk__in=VisitCompanion.objects.filter(user=teacher)
                                          .values("visit_id"))))
    if end is not None:
        qs = qs.filter(scheduled_at__lt=end)
    return (qs.select_related("family", "lead", "campaign", "school")
            .prefetch_related(Prefetch("companions", queryset=VisitCompanion.objects
                                       .select_related("user").order_by("pk")))
            .order_by("scheduled_at", "pk"))


def week_for_user(viewer: User, *, teacher: User, school_ids, monday: dt.date) -> Week:
    """The teacher's visits (lead or companion) from Monday to Sunday (local time), grouped per
    day, with what the viewer may see of each family."""
    start = dt.datetime.combine(monday, dt.time(0), tzinfo=LOCAL_TZ)
    end = dt.datetime.combine(monday + dt.timedelta(days=7), dt.time(0), tzinfo=LOCAL_TZ)
    visits = list(_teacher_visits(teacher, school_ids, start, end))
    family_ids = {v.family_id for v in visits}
    shown, hidden = visible_children_of_families(viewer, family_ids)
    openable = set(scoping.families_for_user(viewer).filter(pk__in=family_ids)
                   .values_list("pk", flat=True))
    today = timezone.now().astimezone(LOCAL_TZ).date()
    days = [Day(date=monday + dt.timedelta(days=i), weekday=str(WEEKDAY_NAMES[i]),
                is_today=monday + dt.timedelta(days=i) == today) for i in range(7)]
    hours = DEFAULT_TEACHING_HOURS
    for visit in visits:
        hours = teaching_hours_for(visit.campaign)
        starts = visit.scheduled_at.astimezone(LOCAL_TZ)
        days[starts.weekday()].entries.append(Entry(
            visit=visit, starts=starts,
            ends=starts + dt.timedelta(minutes=visit.duration_minutes),
            role="lead" if visit.lead_id == teacher.pk else "companion",
            companions=[c.user for c in visit.companions.all()],
            children=shown.get(visit.family_id, []),
            hidden_children=hidden.get(visit.family_id, 0),
            in_teaching_hours=in_teaching_hours(visit.scheduled_at, visit.duration_minutes,
                                                hours),
            # the visit page opens to whoever sees the family, and to its lead and companions
            can_open=visit.family_id in openable or can_record_visit(viewer, visit)))
    return Week(teacher=teacher, monday=monday, days=days,
                teaching_hours=teaching_hours_text(hours))


# --- parent links -------------------------------------------------------------------------

def parent_link(link_id: int, school_id: int) -> ParentLink | None:
    """The link with its visit (inside the scope of the link's school)."""
    return (ParentLink.objects.filter(pk=link_id, school_id=school_id)
            .select_related("visit", "visit__lead", "school").first())


@dataclass(frozen=True)
class ParentView:
    """Everything the parent's page shows, and nothing else: no child, no address."""

    school_name: str
    starts: dt.datetime  # local
    ends: dt.datetime
    duration_minutes: int
    teachers: list[str]
    confirmed: bool
    version: int


def parent_view(link: ParentLink) -> ParentView:
    visit = link.visit
    starts = visit.scheduled_at.astimezone(LOCAL_TZ)
    companions = [c.user.display_name for c in VisitCompanion.objects.filter(visit=visit)
                  .select_related("user").order_by("pk")]
    return ParentView(
        school_name=link.school.name, starts=starts,
        ends=starts + dt.timedelta(minutes=visit.duration_minutes),
        duration_minutes=visit.duration_minutes,
        teachers=[visit.lead.display_name, *companions],
        confirmed=visit.status == Visit.Status.CONFIRMED, version=visit.version)


def latest_parent_link(visit: Visit) -> ParentLink | None:
    return ParentLink.objects.filter(visit=visit).first()


# --- calendar feed ------------------------------------------------------------------------

def active_feed(user: User) -> CalendarFeed | None:
    return CalendarFeed.objects.filter(user=user, revoked_at=None).first()


FEED_STATES = (Visit.Status.PROPOSED, Visit.Status.CONFIRMED, Visit.Status.DONE,
               Visit.Status.CANCELLED, Visit.Status.DECLINED)


@dataclass(frozen=True)
class FeedEntry:
    visit: Visit
    summary: str


def feed_summary(children: list[Student]) -> str:
    """"家访 · 三年级(2)班 张*": the first visible child's class and surname only (phone calendars
    sync to clouds outside the school's control)."""
    if not children:
        return _("家访")
    child = children[0]
    return _("家访 · %(class)s %(surname)s*") % {"class": child.school_class.name,
                                                  "surname": child.name[:1]}


def feed_entries(user: User) -> list[FeedEntry]:
    """The user's visits (lead or companion) from `FEED_PAST_DAYS` ago onward, in the schools
    of the open scope (the caller opens the scope of the user's schools)."""
    since = timezone.now() - dt.timedelta(days=FEED_PAST_DAYS)
    school_ids = scoping.access_for(user).school_ids
    visits = list(_teacher_visits(user, school_ids, since, None).filter(status__in=FEED_STATES))
    shown, _hidden = visible_children_of_families(user, {v.family_id for v in visits})
    return [FeedEntry(visit=v, summary=feed_summary(shown.get(v.family_id, [])))
            for v in visits]
