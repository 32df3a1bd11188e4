"""Scoped reads of visits and coverage for pages, API and exports (R3, R4, R17).

Every function starts from the scoping layer (`jiafang.schools.scoping`) and runs a constant
number of queries whatever the amount of data (tests assert it). The campaign is passed in
already checked by the caller (`campaigns.selectors.get_campaign_for_user`); the school or
class likewise (`scoping.get_school_for_user`, `get_class_for_user`).

Coverage semantics: a student is visited when a record of a counting form inside the campaign
period names them (`StudentVisitStatus.visited`); a family is visited when any of its enrolled
children is; totals are enrolled students and their families. A declined family is counted as
declined, never as visited.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Exists, F, OuterRef, Q
from django.http import Http404

from jiafang.accounts.models import Role, User
from jiafang.campaigns.models import Campaign
from jiafang.campaigns.selectors import participating_school_ids
from jiafang.schools import scoping
from jiafang.schools.models import (
    GRADE_NAMES,
    Family,
    FocusCategory,
    FocusFlag,
    School,
    SchoolClass,
    SchoolFigures,
    Student,
)
from jiafang.visits.defaults import LOCAL_TZ
from jiafang.visits.models import CampaignSchoolFigures, StudentVisitStatus, Visit, VisitCompanion

ENROLLED = Student.Status.ENROLLED


@dataclass
class Counts:
    students_total: int = 0
    students_visited: int = 0
    families_total: int = 0
    families_visited: int = 0
    families_declined: int = 0

    @property
    def students_rate(self) -> float:
        return self.students_visited / self.students_total if self.students_total else 0.0

    @property
    def families_rate(self) -> float:
        return self.families_visited / self.families_total if self.families_total else 0.0


@dataclass
class _Tally:
    """Counts of students and distinct families, built from per-student rows."""

    students: int = 0
    students_visited: int = 0
    families: set = field(default_factory=set)
    families_visited: set = field(default_factory=set)
    families_declined: set = field(default_factory=set)

    def add(self, family_id: int, visited: bool, family_visited: bool,
            family_declined: bool) -> None:
        self.students += 1
        self.students_visited += visited
        self.families.add(family_id)
        if family_visited:
            self.families_visited.add(family_id)
        elif family_declined:
            self.families_declined.add(family_id)

    def counts(self) -> Counts:
        return Counts(self.students, self.students_visited, len(self.families),
                      len(self.families_visited), len(self.families_declined))


@dataclass
class TeacherRow:
    user: User
    led: int  # recorded counting visits led
    joined: int  # as companion (同行教师)
    is_principal: bool


@dataclass
class SchoolCoverage:
    school: School
    campaign: Campaign
    totals: Counts
    by_grade: list[tuple[int, str, Counts]]
    by_class: list[tuple[SchoolClass, Counts]]
    by_category: list[tuple[FocusCategory, Counts]]
    by_teacher: list[TeacherRow]
    principal_visits: int


def _student_rows(students, campaign: Campaign) -> tuple[list[tuple], set[int], set[int]]:
    """(id, class id, family id, visited, declined) of these students who are enrolled, and the
    families visited and declined (a family is visited when any of these children is)."""
    statuses = StudentVisitStatus.objects.filter(campaign=campaign, student=OuterRef("pk"))
    rows = list(students.filter(status=ENROLLED)
                .annotate(visited=Exists(statuses.filter(visited=True)),
                          declined=Exists(statuses.filter(declined=True)))
                .order_by().values_list("pk", "school_class_id", "family_id", "visited",
                                        "declined"))
    visited = {family for _s, _c, family, was_visited, _d in rows if was_visited}
    declined = {family for _s, _c, family, _v, was_declined in rows if was_declined}
    return rows, visited, declined


def coverage_for_school(user: User, school: School, campaign: Campaign) -> SchoolCoverage:
    """Coverage of one school as far as the user may see it (a head teacher: their class), at
    school, grade, class, focus category and teacher level. Live counts over one school's
    enrolled students (a few thousand rows at most); visited from StudentVisitStatus."""
    access = scoping.access_for(user)
    if school.pk not in access.school_ids:
        raise Http404
    whole = school.pk in access.full_school_ids  # sees every student: no per-row filter needed
    rows, family_visited, family_declined = _student_rows(
        scoping.students_for_user(user).filter(school=school), campaign)
    classes = {c.pk: c for c in SchoolClass.objects.filter(
        pk__in={c for _s, c, _f, _v, _d in rows})}
    categories = list(FocusCategory.objects.filter(active=True))
    flags: dict[int, set[int]] = defaultdict(set)
    flagged = FocusFlag.objects.filter(school=school, cleared_at=None)
    if not whole:
        flagged = flagged.filter(student_id__in=[r[0] for r in rows])
    seen = {r[0] for r in rows}
    for student_id, category_id in flagged.values_list("student_id", "category_id"):
        if student_id in seen:  # enrolled (a flag of a child who left is not counted)
            flags[student_id].add(category_id)
    total, by_grade, by_class = _Tally(), defaultdict(_Tally), defaultdict(_Tally)
    by_category: dict[int, _Tally] = defaultdict(_Tally)
    for student_id, class_id, family_id, visited, _declined in rows:
        args = (family_id, visited, family_id in family_visited, family_id in family_declined)
        total.add(*args)
        by_grade[classes[class_id].grade].add(*args)
        by_class[class_id].add(*args)
        for category_id in flags.get(student_id, ()):
            by_category[category_id].add(*args)

    visits = Visit.objects.filter(campaign=campaign, school=school, status=Visit.Status.DONE,
                                  record__counts=True)
    if not whole:
        visits = visits.filter(family__in=scoping.families_for_user(user))
    led = dict(visits.order_by().values_list("lead_id").annotate(n=Count("pk")))
    joined = dict(VisitCompanion.objects.filter(visit__in=visits).order_by()
                  .values_list("user_id").annotate(n=Count("visit", distinct=True)))
    principal_ids = set(Role.objects.filter(school=school, kind=Role.Kind.PRINCIPAL)
                        .values_list("user_id", flat=True))
    teachers = User.objects.filter(pk__in=set(led) | set(joined)).order_by("full_name", "pk")
    by_teacher = [TeacherRow(t, led.get(t.pk, 0), joined.get(t.pk, 0), t.pk in principal_ids)
                  for t in teachers]
    return SchoolCoverage(
        school=school, campaign=campaign, totals=total.counts(),
        by_grade=[(g, GRADE_NAMES.get(g, f"{g}年级"), by_grade[g].counts())
                  for g in sorted(by_grade)],
        by_class=[(classes[c], by_class[c].counts())
                  for c in sorted(by_class, key=lambda c: (classes[c].grade, classes[c].number))],
        by_category=[(cat, by_category[cat.pk].counts()) for cat in categories],
        by_teacher=by_teacher,
        principal_visits=sum(led.get(pk, 0) for pk in principal_ids),
    )


@dataclass
class SchoolCoverageRow:
    school: School
    students_total: int
    students_visited: int
    families_total: int
    families_visited: int
    focus_total: int
    focus_visited: int
    families_declined: int
    principal_visits: int
    by_category: dict[str, tuple[int, int]]  # {category id: (total, visited)}


@dataclass
class BureauCoverage:
    campaign: Campaign
    schools: list[SchoolCoverageRow]
    totals: Counts
    focus_total: int
    focus_visited: int
    principal_visits: int
    by_category: list[tuple[FocusCategory, int, int]]  # (category, total, visited)


def coverage_for_bureau(user: User, campaign: Campaign, *, schools: list[School] | None = None,
                        categories: list[FocusCategory] | None = None) -> BureauCoverage:
    """Coverage per school and in total, and per focus category, over the participating schools
    the user may see (or `schools`: participating schools the caller read with
    `select_related("figures")`). Reads one SchoolFigures and one CampaignSchoolFigures row
    per school."""
    if schools is None:  # else participating schools the caller read with their figures
        schools = list(scoping.schools_for_user(user)
                       .filter(pk__in=participating_school_ids(
                           campaign, edges=scoping.bureau_edges(user)))
                       .select_related("figures").order_by("code"))
    ids = [s.pk for s in schools]
    campaign_figures = {f.school_id: f for f in CampaignSchoolFigures.objects.filter(
        campaign=campaign, school_id__in=ids)}
    if categories is None:
        categories = list(FocusCategory.objects.filter(active=True))
    rows = []
    totals = Counts()
    focus_total = focus_visited = principal_visits = 0
    category_totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for school in schools:
        try:
            base = school.figures
        except SchoolFigures.DoesNotExist:
            base = SchoolFigures(school=school)
        figures = campaign_figures.get(school.pk) or CampaignSchoolFigures(
            campaign=campaign, school=school)
        by_category = {}
        for key in set(base.focus_by_category) | set(figures.by_category_visited):
            pair = (base.focus_by_category.get(key, 0), figures.by_category_visited.get(key, 0))
            by_category[key] = pair
            category_totals[key][0] += pair[0]
            category_totals[key][1] += pair[1]
        rows.append(SchoolCoverageRow(
            school=school, students_total=base.student_count,
            students_visited=figures.students_visited, families_total=base.family_count,
            families_visited=figures.families_visited, focus_total=base.focus_count,
            focus_visited=figures.focus_students_visited,
            families_declined=figures.families_declined,
            principal_visits=figures.principal_visits, by_category=by_category))
        totals.students_total += base.student_count
        totals.students_visited += figures.students_visited
        totals.families_total += base.family_count
        totals.families_visited += figures.families_visited
        totals.families_declined += figures.families_declined
        focus_total += base.focus_count
        focus_visited += figures.focus_students_visited
        principal_visits += figures.principal_visits
    return BureauCoverage(
        campaign=campaign, schools=rows, totals=totals, focus_total=focus_total,
        focus_visited=focus_visited, principal_visits=principal_visits,
        by_category=[(c, *category_totals.get(str(c.pk), (0, 0))) for c in categories])


@dataclass
class Figures:
    """Headline coverage of one scope (the generic coverage API, R3, R4): totals, focus
    students and the six focus categories."""

    campaign: Campaign
    totals: Counts
    focus_total: int
    focus_visited: int
    by_category: list[tuple[FocusCategory, int, int]]  # (category, total, visited)


def coverage_figures(user: User, campaign: Campaign, *, school_id: int | None = None,
                     school_class: SchoolClass | None = None) -> Figures:
    """Coverage of the caller's scope in a campaign: one class, one school, or (neither) all
    the participating schools the user may see. Schools whose overview figures the user may
    open (principal, coordinator, bureau officer, mental-health and safety staff) are read from
    the stored per-school figures, one row each, so the answer costs the same at any size; a
    class, or the classes a teacher sees, are counted live over those few students. The
    caller has checked the campaign, and the school (`scoping.school_id_for_user`) or class
    with the scoping layer; one that does not take part in the campaign is 404."""
    access = scoping.access_for(user)
    seen = {school.pk: school for school in School.objects.filter(
        pk__in=participating_school_ids(campaign, edges=scoping.bureau_edges(user)))
        .filter(pk__in=access.school_ids)
        .select_related("figures").order_by("code")}
    participating = set(seen)
    asked = school_class.school_id if school_class is not None else school_id
    if asked is not None and asked not in participating:
        raise Http404  # the school does not take part in this campaign
    if school_class is not None:
        whole: list[int] = []
        live = scoping.students_for_user(user).filter(school_class=school_class)
    else:
        candidates = [school_id] if school_id is not None else sorted(participating)
        whole = [pk for pk in candidates if pk in access.overview_school_ids]
        partial = [pk for pk in candidates if pk not in access.overview_school_ids]
        live = (scoping.students_for_user(user).filter(school_id__in=partial)
                if partial else None)
    categories = list(FocusCategory.objects.filter(active=True))
    totals = Counts()
    focus_total = focus_visited = 0
    per_category: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    if whole:
        stored = coverage_for_bureau(user, campaign, schools=[seen[pk] for pk in whole],
                                     categories=categories)
        totals = stored.totals
        focus_total, focus_visited = stored.focus_total, stored.focus_visited
        for category, total, visited in stored.by_category:
            per_category[category.pk] = [total, visited]
    if live is not None:
        rows, families_visited, families_declined = _student_rows(live, campaign)
        tally = _Tally()
        focus: dict[int, set[int]] = defaultdict(set)
        for student_id, category_id in FocusFlag.objects.filter(
                cleared_at=None, student_id__in=[r[0] for r in rows]
        ).values_list("student_id", "category_id"):
            focus[student_id].add(category_id)
        for student_id, _class_id, family_id, visited, _declined in rows:
            tally.add(family_id, visited, family_id in families_visited,
                      family_id in families_declined)
            if focus.get(student_id):
                focus_total += 1
                focus_visited += visited
            for category_id in focus.get(student_id, ()):
                per_category[category_id][0] += 1
                per_category[category_id][1] += visited
        counted = tally.counts()
        for name in ("students_total", "students_visited", "families_total",
                     "families_visited", "families_declined"):
            setattr(totals, name, getattr(totals, name) + getattr(counted, name))
    return Figures(campaign=campaign, totals=totals, focus_total=focus_total,
                   focus_visited=focus_visited,
                   by_category=[(c, *per_category.get(c.pk, (0, 0))) for c in categories])


@dataclass
class FamilyToVisit:
    family: Family
    students: list[Student]  # the family's enrolled children in this class
    focus_categories: list[FocusCategory]
    next_visit: Visit | None  # the earliest proposed or confirmed visit
    declined_reason: str = ""

    @property
    def is_focus(self) -> bool:
        return bool(self.focus_categories)


@dataclass
class FamiliesToVisit:
    pending: list[FamilyToVisit]  # focus families first
    declined: list[FamilyToVisit]
    visited_count: int


def families_to_visit(user: User, school_class: SchoolClass,
                      campaign: Campaign) -> FamiliesToVisit:
    """The head teacher's to-do list: the class's families not yet visited in this campaign,
    focus families first; families that declined are listed separately."""
    statuses = StudentVisitStatus.objects.filter(campaign=campaign,
                                                 student__family=OuterRef("family_id"))
    students = list(
        scoping.students_for_user(user).filter(school_class=school_class, status=ENROLLED)
        .annotate(family_visited=Exists(statuses.filter(visited=True)),
                  family_declined=Exists(statuses.filter(declined=True)))
        .select_related("family").order_by("family_id", "student_number"))
    flags: dict[int, list[FocusCategory]] = defaultdict(list)
    for flag in FocusFlag.objects.filter(student__in=[s.pk for s in students], cleared_at=None
                                         ).select_related("category"):
        flags[flag.student_id].append(flag.category)
    family_ids = {s.family_id for s in students}
    open_visits: dict[int, Visit] = {}
    declined_reasons: dict[int, str] = {}
    for visit in (Visit.objects.filter(campaign=campaign, family_id__in=family_ids,
                                       status__in=[Visit.Status.PROPOSED, Visit.Status.CONFIRMED,
                                                   Visit.Status.DECLINED])
                  .select_related("lead").order_by("scheduled_at", "pk")):
        if visit.status == Visit.Status.DECLINED:
            declined_reasons[visit.family_id] = visit.status_reason
        else:
            open_visits.setdefault(visit.family_id, visit)
    grouped: dict[int, FamilyToVisit] = {}
    visited: set[int] = set()
    declined_ids: set[int] = set()
    for s in students:
        if s.family_visited:
            visited.add(s.family_id)
            continue
        if s.family_declined:
            declined_ids.add(s.family_id)
        row = grouped.setdefault(s.family_id, FamilyToVisit(
            family=s.family, students=[], focus_categories=[],
            next_visit=open_visits.get(s.family_id),
            declined_reason=declined_reasons.get(s.family_id, "")))
        row.students.append(s)
        for category in flags.get(s.pk, []):
            if category not in row.focus_categories:
                row.focus_categories.append(category)
    ordered = sorted(grouped.values(), key=lambda r: (not r.is_focus,
                                                     r.students[0].student_number))
    return FamiliesToVisit(
        pending=[r for r in ordered if r.family.pk not in declined_ids],
        declined=[r for r in ordered if r.family.pk in declined_ids],
        visited_count=len(visited))


@dataclass
class WeekRow:
    starts_on: dt.date
    families_visited: int
    cumulative: int


@dataclass
class Progress:
    weeks: list[WeekRow]
    families_total: int
    outside_period: int  # families first visited outside the period (should be 0)


def progress_by_week(user: User, school: School, campaign: Campaign) -> Progress:
    """Families visited per week (Monday to Sunday) over the campaign period, by the first visit
    that counted for the family; for the progress chart against the weeks left."""
    if school.pk not in scoping.access_for(user).school_ids:
        raise Http404
    visible = scoping.students_for_user(user).filter(school=school, status=ENROLLED)
    families_total = visible.order_by().values("family_id").distinct().count()
    first: dict[int, dt.datetime] = {}
    for family_id, visited_at in (
            StudentVisitStatus.objects.filter(campaign=campaign, visited=True,
                                              student__in=visible.values("pk"))
            .values_list("student__family_id", "visited_at")):
        if family_id not in first or visited_at < first[family_id]:
            first[family_id] = visited_at
    start = campaign.starts_on - dt.timedelta(days=campaign.starts_on.weekday())
    weeks: list[WeekRow] = []
    day = start
    while day <= campaign.ends_on:
        weeks.append(WeekRow(day, 0, 0))
        day += dt.timedelta(days=7)
    outside = 0
    for visited_at in first.values():
        index = (visited_at.astimezone(LOCAL_TZ).date() - start).days // 7
        if 0 <= index < len(weeks):
            weeks[index].families_visited += 1
        else:
            outside += 1
    running = 0
    for week in weeks:
        running += week.families_visited
        week.cumulative = running
    return Progress(weeks=weeks, families_total=families_total, outside_period=outside)


def visits_for_user(user: User):
    """Visits of families the user may see, and the visits the user leads or accompanies
    (a coordinator may assign any teacher of the school to a family, R10): the start of
    every visit list and lookup."""
    mine = Q(lead_id=user.pk) | Q(Exists(VisitCompanion.objects.filter(
        visit=OuterRef("pk"), user_id=user.pk)))
    return Visit.objects.filter(Q(family__in=scoping.families_for_user(user)) | mine)


def get_visit_for_user(user: User, pk: object) -> Visit:
    """The visit, or 404 when it is missing or out of the user's scope."""
    try:
        return (visits_for_user(user).select_related("family", "lead", "campaign", "school")
                .get(pk=scoping.id_or_404(pk)))
    except Visit.DoesNotExist:
        raise Http404 from None



# --- one visit: its people, children, history and record (pages and API) ----------------------

def visit_children(visit_or_family) -> list[Student]:
    """The family's enrolled children at its school: every one is recorded by the visit. Shown in
    full to those who record the visit (they are visiting the whole family)."""
    family = getattr(visit_or_family, "family", visit_or_family)
    return list(Student.objects.filter(family=family, school_id=family.school_id,
                                       status=ENROLLED)
                .select_related("school_class").order_by("pk"))


def visible_children(user: User, visit_or_family) -> tuple[list[Student], int]:
    """The family's enrolled children the user may see, and how many others there are."""
    family = getattr(visit_or_family, "family", visit_or_family)
    shown, hidden = visible_children_of_families(user, {family.pk})
    return shown.get(family.pk, []), hidden.get(family.pk, 0)


def visible_children_of_families(user: User, family_ids) -> tuple[dict, dict]:
    """(family id → enrolled children at the family's school the user may see, family id → how
    many others): lists of many families in two queries."""
    everyone = list(Student.objects.filter(family_id__in=family_ids, status=ENROLLED,
                                           school=F("family__school"))
                    .select_related("school_class").order_by("pk"))
    visible = set(scoping.students_for_user(user).filter(pk__in=[s.pk for s in everyone])
                  .values_list("pk", flat=True))
    shown: dict[int, list[Student]] = defaultdict(list)
    hidden: dict[int, int] = defaultdict(int)
    for student in everyone:
        if student.pk in visible:
            shown[student.family_id].append(student)
        else:
            hidden[student.family_id] += 1
    return shown, hidden


def school_staff(school_id: int, *, first_ids=()):
    """Everyone active holding a role at the school (lead and companion choices), those in
    `first_ids` (the children's teachers) first."""
    from django.db.models import Case, IntegerField, Value, When

    return (User.objects.filter(is_active=True, pk__in=Role.objects.filter(
        school_id=school_id).values("user_id"))
        .annotate(first=Case(When(pk__in=list(first_ids), then=Value(0)), default=Value(1),
                             output_field=IntegerField()))
        .order_by("first", "full_name", "pk"))


def class_teacher_ids(class_ids) -> tuple[set[int], set[int]]:
    """(head teachers, subject teachers) of these classes."""
    heads, subjects = set(), set()
    for user_id, kind in Role.objects.filter(school_class_id__in=list(class_ids)).values_list(
            "user_id", "kind"):
        (heads if kind == Role.Kind.HEAD_TEACHER else subjects).add(user_id)
    return heads, subjects


def default_lead(user: User, family: Family) -> User | None:
    """The current user if they teach an enrolled child of the family, else the head teacher of
    the first enrolled child's class that has one."""
    children = visit_children(family)
    class_ids = [s.school_class_id for s in children]
    if scoping.access_for(user).class_ids & set(class_ids):
        return user
    heads = {role.school_class_id: role.user for role in Role.objects.filter(
        school_class_id__in=class_ids, kind=Role.Kind.HEAD_TEACHER, user__is_active=True,
    ).select_related("user")}
    return next((heads[c] for c in class_ids if c in heads), None)


@dataclass
class VisitView:
    visit: Visit
    companions: list[User]
    events: list
    children: list[Student]
    hidden_children: int


def visit_view(user: User, visit: Visit) -> VisitView:
    from jiafang.visits.models import VisitEvent

    companions = [c.user for c in VisitCompanion.objects.filter(visit=visit)
                  .select_related("user").order_by("pk")]
    events = list(VisitEvent.objects.filter(visit=visit).select_related("by").order_by("at", "pk"))
    visiting = user.pk == visit.lead_id or any(c.pk == user.pk for c in companions)
    if visiting and visit.status in (Visit.Status.PROPOSED, Visit.Status.CONFIRMED):
        # who is about to visit the family sees its children; once the visit is over, the
        # record names those it was about and the family follows the scoping layer again
        children, hidden = visit_children(visit), 0
    else:
        children, hidden = visible_children(user, visit)
    return VisitView(visit, companions, events, children, hidden)


def visit_record_of(visit: Visit):
    """The visit's record with its children, demands and revisions, or None."""
    from django.db.models import Prefetch

    from jiafang.visits.models import ParentDemand, VisitRecord, VisitRecordChild

    return (VisitRecord.objects.filter(visit=visit)
            .select_related("submitted_by")
            .prefetch_related(
                Prefetch("children", queryset=VisitRecordChild.objects.select_related(
                    "student", "student__school_class").order_by("student_id")),
                Prefetch("demands", queryset=ParentDemand.objects.select_related("category")
                         .order_by("position", "pk")),
                "revisions__edited_by")
            .first())


# --- preparation: the prepared profile of a visit's family (R11, R23.1) -----------------------

PREPARATION_KEY_POINTS = 3  # earlier visits' key points shown per child
PREPARATION_PREVIOUS_VISITS = 3  # earlier visits of the family shown with their outcome


@dataclass
class FocusNote:
    name: str
    reason: str  # empty where the user may not see why (scoping.can_see_focus_details)


@dataclass
class ChildProfile:
    student: Student
    class_name: str
    focus: list[FocusNote]
    key_points: list  # VisitRecordChild of earlier visits, newest first, with `record`


@dataclass
class PreparationProfile:
    visit: Visit
    children: list[ChildProfile]
    hidden_children: int
    open_demands: list  # ParentDemand of the family still open, newest visit first
    previous_visits: list[Visit]  # the family's earlier visits with their outcome, newest first
    preparation: object | None  # VisitPreparation, or None before the first save


def preparation_profile(user: User, visit: Visit, *, all_children: bool) -> PreparationProfile:
    """What the school already knows before the visit, for the preparation page and API: per
    enrolled child (all of them for those who visit the family, else those the user may see)
    the class, the active focus categories (reasons only where the user may see them), the key
    points of the child's earlier visits (strengths, shortcomings, methods, the record's
    follow-up, date and form; a few, newest first, any campaign); the family's open parent
    demands and earlier visits' outcomes (declined with its reason...); and the notes. The
    caller has checked that the user may read the preparation. Seven queries at any size.

    "Earlier" is bounded: for a visit that is over, only what was recorded before its
    appointment — someone who led a visit long ago must not read, through it, what other
    teachers wrote about the family since."""
    from django.db.models import Window
    from django.db.models.functions import RowNumber

    from jiafang.visits.models import ParentDemand, VisitPreparation, VisitRecordChild

    if all_children:
        children, hidden = visit_children(visit), 0
    else:
        children, hidden = visible_children(user, visit)
    ids = [s.pk for s in children]
    focus: dict[int, list[FocusNote]] = defaultdict(list)
    for flag in (FocusFlag.objects.filter(student_id__in=ids, cleared_at=None)
                 .select_related("category", "student")
                 .order_by("category__sort_order", "category_id")):
        details = scoping.can_see_focus_details(user, school_id=flag.student.school_id,
                                                class_id=flag.student.school_class_id)
        focus[flag.student_id].append(FocusNote(flag.category.name,
                                                flag.reason if details else ""))
    is_open = visit.status in (Visit.Status.PROPOSED, Visit.Status.CONFIRMED)
    cutoff = None if is_open else (visit.scheduled_at or visit.created_at)
    before = (lambda field: Q()) if cutoff is None else (lambda field: Q(**{f"{field}__lt": cutoff}))
    newest = Window(RowNumber(), partition_by=[F("student_id")],
                    order_by=[F("record__visited_at").desc(), F("pk").desc()])
    points: dict[int, list] = defaultdict(list)
    for row in (VisitRecordChild.objects.filter(before("record__visited_at"), student_id__in=ids)
                .exclude(record__visit_id=visit.pk)
                .select_related("record").annotate(newest=newest)
                .filter(newest__lte=PREPARATION_KEY_POINTS)
                .order_by("student_id", "-record__visited_at", "-pk")):
        points[row.student_id].append(row)
    demands = list(ParentDemand.objects.filter(before("record__visited_at"),
                                               family_id=visit.family_id,
                                               status=ParentDemand.Status.OPEN)
                   .select_related("category", "record")
                   .order_by("-record__visited_at", "position", "pk"))
    previous = list(Visit.objects.filter(before("scheduled_at"), family_id=visit.family_id)
                    .exclude(pk=visit.pk)
                    .exclude(status__in=[Visit.Status.PROPOSED, Visit.Status.CONFIRMED])
                    .select_related("campaign", "lead")
                    .order_by(F("scheduled_at").desc(nulls_last=True), "-pk")
                    [:PREPARATION_PREVIOUS_VISITS])
    notes = VisitPreparation.objects.filter(visit=visit).select_related("updated_by").first()
    return PreparationProfile(
        visit=visit,
        children=[ChildProfile(s, s.school_class.name, focus.get(s.pk, []), points.get(s.pk, []))
                  for s in children],
        hidden_children=hidden, open_demands=demands, previous_visits=previous,
        preparation=notes)


def preparation_prefill(visit: Visit) -> str:
    """The record's 家访准备 pre-filled from the preparation notes ("" without notes)."""
    from jiafang.visits.models import VisitPreparation
    from jiafang.visits.services import preparation_labels

    notes = VisitPreparation.objects.filter(visit=visit).first()
    if notes is None:
        return ""
    return "\n".join(f"{label}：{getattr(notes, name)}"
                     for name, label in preparation_labels().items() if getattr(notes, name))


def preparation_suggestion(profile: PreparationProfile) -> dict[str, str]:
    """First-time values of the notes form: the open parent demands as topics to answer."""
    from django.utils.translation import gettext as _

    return {"topics": "\n".join(_("回应家长诉求：%(text)s") % {"text": d.text}
                                for d in profile.open_demands)}
