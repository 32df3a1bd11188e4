"""Scoped reads of the task map (R8, R10, R18) for pages and API; constant query counts.

Who may open what (everything starts from `jiafang.schools.scoping`):
- the school-wide map: the school's principal and coordinator (who also draft, reassign and set
  lighter loads) and bureau officers over the school (read only: a change answers 403, and they
  see communities and addresses masked); anyone else gets 404, like a missing school;
- my families: every signed-in user, the families they lead or accompany in the schools where
  they hold a school role (principal, coordinator, teacher, ...), for each school's current
  campaign unless a campaign is asked for;
- the API list: assignments of families the user may see (`scoping.families_for_user`) plus
  those where the user is the lead or a companion.

Children are named only where `scoping.students_for_user` shows them (the others are counted;
in "my families" the assignment shows all of them); a family is flagged as a focus family when a
child the user sees has an active focus flag (a hidden sibling's flag is not told, B6), and
categories are shown for the visible children only. Places (community, street, address) follow
`scoping.can_see_contacts`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from jiafang.accounts.models import Role, User
from jiafang.campaigns.models import Campaign
from jiafang.campaigns.selectors import current_campaign_for_school
from jiafang.reports.selectors import campaign_for_school
from jiafang.schools import scoping
from jiafang.schools.models import Family, FocusCategory, FocusFlag, School, SchoolClass, Student
from jiafang.schools.text import mask_address
from jiafang.taskmap import proximity
from jiafang.taskmap.models import TaskAssignment, TaskCompanion, TeacherLoad
from jiafang.visits.models import StudentVisitStatus, Visit
from jiafang.visits.permissions import may_schedule_in

ENROLLED = Student.Status.ENROLLED
OPEN_STATES = (Visit.Status.PROPOSED, Visit.Status.CONFIRMED)


# --- who may open and change ------------------------------------------------------------------

def get_school_for_taskmap(user: User, pk: object) -> School:
    """The school, if the user sees all of it (principal, coordinator, bureau officer); 404."""
    school = scoping.get_school_for_user(user, pk)
    if school.pk not in scoping.access_for(user).full_school_ids:
        raise Http404
    return school


def can_change_taskmap(user: User, school: School) -> bool:
    """Draft, reassign, lighter loads: the school's principal and coordinator."""
    return school.pk in scoping.access_for(user).managed_school_ids


def get_school_for_taskmap_change(user: User, pk: object) -> School:
    """404 unless the user may open the map; 403 when they may read it but not change it."""
    school = get_school_for_taskmap(user, pk)
    if not can_change_taskmap(user, school):
        raise PermissionDenied
    return school


def campaign_for_taskmap(user: User, school: School, campaign_id: object = None
                         ) -> Campaign | None:
    """The campaign asked for (404 when unreadable or the school does not take part), else the
    school's current campaign (None when there is none)."""
    return campaign_for_school(user, school, campaign_id)  # 404 for a bad id as for a missing


def _companions_prefetch() -> Prefetch:
    return Prefetch("task_companions",
                    queryset=TaskCompanion.objects.select_related("user").order_by("pk"))


def assignment_for_family(*, campaign: Campaign, family: Family) -> TaskAssignment | None:
    """The family's assignment in the campaign (for the visit scheduling page), companions
    prefetched as `task_companions`. The caller has checked the family."""
    return (TaskAssignment.objects.filter(campaign=campaign, family=family)
            .select_related("lead").prefetch_related(_companions_prefetch()).first())


# --- rows -------------------------------------------------------------------------------------

@dataclass
class FamilyRow:
    family: Family
    assignment: TaskAssignment | None
    children: list[Student]  # enrolled children the user may see
    hidden_children: int
    focus: bool  # a child the user sees has an active focus flag
    focus_categories: list[FocusCategory]  # of the visible children
    visited: bool
    declined: bool
    next_visit: Visit | None  # the earliest proposed or confirmed visit
    show_contacts: bool
    address: str
    may_schedule: bool
    role: str = ""  # in my families: "lead" or "companion"

    @property
    def lead(self) -> User | None:
        return self.assignment.lead if self.assignment is not None else None

    @property
    def companions(self) -> list[User]:
        if self.assignment is None:
            return []
        return [c.user for c in self.assignment.task_companions.all()]

    @property
    def community(self) -> str:
        return self.family.community if self.show_contacts else ""

    @property
    def street(self) -> str:
        return self.family.street if self.show_contacts else ""

    @property
    def state(self) -> str:
        if self.visited:
            return "visited"
        if self.declined:
            return "declined"
        return "booked" if self.next_visit is not None else "open"

    @property
    def state_label(self) -> str:
        return {"visited": _("已家访"), "declined": _("家长婉拒"), "booked": _("已预约"),
                "open": _("待预约")}[self.state]


@dataclass
class _FamilyInfo:
    family: Family
    children: list[Student] = field(default_factory=list)  # every enrolled child
    visible: list[Student] = field(default_factory=list)
    focus: bool = False  # a child the user may see has an active flag
    focus_any: bool = False  # any enrolled child has (only for those who see every child)
    categories: list[FocusCategory] = field(default_factory=list)
    visited: set[int] = field(default_factory=set)  # campaign ids
    declined: set[int] = field(default_factory=set)
    next_visit: dict[int, Visit] = field(default_factory=dict)  # campaign id → visit


def _family_info(user: User, where: Q, campaign_ids: set[int]) -> dict[int, _FamilyInfo]:
    """The families of the enrolled students matching `where`: children (visible or counted),
    focus, visit state per campaign. Five queries at most, whatever the number of families."""
    access = scoping.access_for(user)
    students = list(Student.objects.filter(where, status=ENROLLED)
                    .select_related("school_class", "family").order_by("school_class__grade",
                                                                       "school_class_id", "pk"))
    infos: dict[int, _FamilyInfo] = {}
    for s in students:
        infos.setdefault(s.family_id, _FamilyInfo(s.family)).children.append(s)
    if not students:
        return infos
    if all(s.school_id in access.full_school_ids for s in students):
        visible_ids = {s.pk for s in students}
    else:
        visible_ids = set(scoping.students_for_user(user).filter(where, status=ENROLLED)
                          .values_list("pk", flat=True))
    for info in infos.values():
        info.visible = [s for s in info.children if s.pk in visible_ids]
    of_student = {s.pk: s for s in students}
    enrolled = Student.objects.filter(where, status=ENROLLED)
    for flag in (FocusFlag.objects.filter(cleared_at=None, student__in=enrolled.values("pk"))
                 .select_related("category").order_by("category__sort_order", "pk")):
        info = infos[of_student[flag.student_id].family_id]
        info.focus_any = True
        if flag.student_id in visible_ids:  # a hidden sibling's flag is not told (B6)
            info.focus = True
            if flag.category not in info.categories:
                info.categories.append(flag.category)
    if campaign_ids:
        for campaign_id, student_id, visited, declined in (
                StudentVisitStatus.objects.filter(campaign_id__in=campaign_ids,
                                                  student__in=enrolled.values("pk"))
                .values_list("campaign_id", "student_id", "visited", "declined")):
            info = infos[of_student[student_id].family_id]
            if visited:
                info.visited.add(campaign_id)
            elif declined:
                info.declined.add(campaign_id)
        for visit in (Visit.objects.filter(campaign_id__in=campaign_ids, status__in=OPEN_STATES,
                                           family__in=enrolled.values("family_id"))
                      .select_related("lead").order_by("scheduled_at", "pk")):
            infos[visit.family_id].next_visit.setdefault(visit.campaign_id, visit)
    return infos


def _row(user: User, info: _FamilyInfo, assignment: TaskAssignment | None,
         campaign_id: int) -> FamilyRow:
    family = info.family
    class_ids = {s.school_class_id for s in info.children}
    show = scoping.can_see_contacts(user, school_id=family.school_id, class_ids=class_ids)
    declined = campaign_id in info.declined and campaign_id not in info.visited
    return FamilyRow(
        family=family, assignment=assignment, children=info.visible,
        hidden_children=len(info.children) - len(info.visible), focus=info.focus,
        focus_categories=info.categories, visited=campaign_id in info.visited,
        declined=declined, next_visit=info.next_visit.get(campaign_id), show_contacts=show,
        address=family.address if show else mask_address(family.address),
        may_schedule=may_schedule_in(user, school_id=family.school_id, class_ids=class_ids))


@dataclass
class Group:
    key: str
    label: str
    rows: list[FamilyRow]


def grouped(rows: list[FamilyRow]) -> list[Group]:
    """A teacher's families by proximity (`taskmap.proximity`), labelled for this user."""
    result = []
    for position, (key, members) in enumerate(proximity.arrange(rows, lambda r: r.family),
                                              start=1):
        show = all(r.show_contacts for r in members)
        result.append(Group(key, proximity.group_label(key, position, show_place=show), members))
    return result


# --- the school-wide map ----------------------------------------------------------------------

@dataclass
class TeacherBlock:
    user: User
    head_of: list[SchoolClass]
    load: TeacherLoad | None
    groups: list[Group] = field(default_factory=list)
    led: int = 0
    joined: int = 0
    visited: int = 0
    focus: int = 0

    @property
    def over_cap(self) -> int:
        """How many families over the lighter-load cap the teacher leads."""
        if self.load is None or self.load.max_families is None:
            return 0
        return max(0, self.led - self.load.max_families)


@dataclass
class SchoolMap:
    school: School
    campaign: Campaign
    teachers: list[TeacherBlock]  # those who lead families, or have a lighter load
    workload: list[TeacherBlock]  # everyone with a task (lead or companion), for the table
    unassigned: list[Group]
    loads: list[TeacherLoad]
    show_contacts: bool
    families: int = 0
    assigned: int = 0
    manual: int = 0
    focus: int = 0
    visited: int = 0
    over_cap: int = 0

    @property
    def drafted(self) -> bool:
        return self.assigned > 0 or self.manual > 0

    @property
    def unassigned_count(self) -> int:
        return sum(len(g.rows) for g in self.unassigned)


def _teacher_order(block: TeacherBlock) -> tuple:
    first = min(((c.grade, c.number) for c in block.head_of), default=(99, 99))
    return (first, block.user.display_name, block.user.pk)


def school_map(user: User, school: School, campaign: Campaign) -> SchoolMap:
    """The whole school's task map: by teacher, then by community (proximity), families not
    assigned apart; per teacher the families led and accompanied, visited and focus counts,
    the lighter load. The caller has checked the school (`get_school_for_taskmap`)."""
    if school.pk not in scoping.access_for(user).full_school_ids:
        raise Http404
    infos = _family_info(user, Q(school=school), {campaign.pk})
    assignments = {a.family_id: a for a in TaskAssignment.objects.filter(
        campaign=campaign, school=school).select_related("lead")
        .prefetch_related(_companions_prefetch())}
    loads = {load.user_id: load for load in TeacherLoad.objects.filter(
        campaign=campaign, school=school).select_related("user", "updated_by")}
    head_of: dict[int, list[SchoolClass]] = defaultdict(list)
    for role in Role.objects.filter(school=school, kind=Role.Kind.HEAD_TEACHER).select_related(
            "school_class").order_by("school_class__grade", "school_class__number"):
        head_of[role.user_id].append(role.school_class)
    blocks: dict[int, TeacherBlock] = {}

    def block(person: User) -> TeacherBlock:
        if person.pk not in blocks:
            blocks[person.pk] = TeacherBlock(person, head_of.get(person.pk, []),
                                             loads.get(person.pk))
        return blocks[person.pk]

    led_rows: dict[int, list[FamilyRow]] = defaultdict(list)
    unassigned: list[FamilyRow] = []
    result = SchoolMap(school=school, campaign=campaign, teachers=[], workload=[],
                       unassigned=[], loads=[],
                       show_contacts=scoping.can_see_contacts(user, school_id=school.pk))
    for family_id, info in infos.items():
        assignment = assignments.get(family_id)
        row = _row(user, info, assignment, campaign.pk)
        result.families += 1
        result.focus += row.focus
        result.visited += row.visited
        if assignment is None or assignment.lead is None:
            unassigned.append(row)
        else:
            b = block(assignment.lead)
            b.led += 1
            b.visited += row.visited
            b.focus += row.focus
            led_rows[assignment.lead_id].append(row)
            result.assigned += 1
        if assignment is not None:
            result.manual += assignment.manual
            result.over_cap += assignment.over_cap
            for companion in row.companions:
                block(companion).joined += 1
    for load in loads.values():
        block(load.user)
    for user_id, rows in led_rows.items():
        blocks[user_id].groups = grouped(rows)
    ordered = sorted(blocks.values(), key=_teacher_order)
    result.teachers = [b for b in ordered if b.led or b.load is not None]
    result.workload = ordered
    result.unassigned = grouped(unassigned)
    result.loads = sorted(loads.values(), key=lambda load: (load.user.display_name, load.pk))
    return result


# --- my families ------------------------------------------------------------------------------

@dataclass
class MySection:
    school: School
    campaign: Campaign
    led: list[Group]
    joined: list[FamilyRow]

    @property
    def led_count(self) -> int:
        return sum(len(g.rows) for g in self.led)


def _staff_school_ids(user: User) -> frozenset[int]:
    access = scoping.access_for(user)
    return (access.managed_school_ids | access.safety_school_ids | access.focus_school_ids
            | access.class_school_ids)


def may_have_visit_tasks(user: User) -> bool:
    """Whether the user holds a school role, so "我的家访任务" may list something."""
    return bool(_staff_school_ids(user))


def my_families(user: User, campaign: Campaign | None = None) -> list[MySection]:
    """The families the user leads (by proximity) or accompanies, per school where they hold a
    school role: in `campaign` (already checked with `get_campaign_for_user`), else in each
    school's current campaign."""
    school_ids = _staff_school_ids(user)
    if not school_ids:
        return []
    schools = {s.pk: s for s in School.objects.filter(pk__in=school_ids).order_by("code")}
    if campaign is not None:
        pairs = {pk: campaign for pk in schools}
    else:
        pairs = {pk: c for pk, s in schools.items()
                 if (c := current_campaign_for_school(user, s)) is not None}
    if not pairs:
        return []
    where = Q()
    for school_id, c in pairs.items():
        where |= Q(school_id=school_id, campaign=c)
    mine = Q(lead=user) | Q(Exists(TaskCompanion.objects.filter(assignment=OuterRef("pk"),
                                                                 user=user)))
    assignments = list(TaskAssignment.objects.filter(where).filter(mine)
                       .select_related("lead").prefetch_related(_companions_prefetch())
                       .order_by("school_id", "family_id"))
    if not assignments:
        return []
    infos = _family_info(user, Q(family_id__in=[a.family_id for a in assignments]),
                         {c.pk for c in pairs.values()})
    for info in infos.values():
        _as_assignee(info)
    sections: dict[int, MySection] = {}
    led: dict[int, list[FamilyRow]] = defaultdict(list)
    for a in assignments:
        info = infos.get(a.family_id)
        if info is None:  # no enrolled child any more
            continue
        section = sections.setdefault(a.school_id, MySection(schools[a.school_id],
                                                             pairs[a.school_id], [], []))
        row = _row(user, info, a, a.campaign_id)
        if a.lead_id == user.pk:
            row.role = "lead"
            led[a.school_id].append(row)
        else:
            row.role = "companion"
            section.joined.append(row)
    for school_id, section in sections.items():
        section.led = grouped(led[school_id])
        section.joined.sort(key=lambda r: (not r.focus, r.family.code, r.family.pk))
    return [sections[pk] for pk in schools if pk in sections]


# --- the API list -----------------------------------------------------------------------------

def assignments_for_user(user: User) -> QuerySet[TaskAssignment]:
    """Assignments of families the user may see, and those where the user leads or goes along."""
    access = scoping.access_for(user)
    mine = Exists(TaskCompanion.objects.filter(assignment=OuterRef("pk"), user=user))
    return TaskAssignment.objects.filter(school_id__in=access.school_ids).filter(
        Q(family__in=scoping.families_for_user(user)) | Q(lead=user) | Q(mine))


def taught_by(user_id: int) -> Q:
    """Assignments where this user is the lead or a companion (a filter of the API list)."""
    return Q(lead_id=user_id) | Q(Exists(TaskCompanion.objects.filter(
        assignment=OuterRef("pk"), user_id=user_id)))


def assignment_rows(user: User, assignments: list[TaskAssignment]) -> list[FamilyRow]:
    """Rows (children in scope, focus, visit state, masked places) for these assignments;
    they are loaded with `select_related("lead")` and `task_companions` prefetched."""
    infos = _family_info(user, Q(family_id__in=[a.family_id for a in assignments]),
                         {a.campaign_id for a in assignments})
    rows = []
    for a in assignments:
        info = infos.get(a.family_id) or _FamilyInfo(a.family)
        if a.lead_id == user.pk or any(c.user_id == user.pk for c in a.task_companions.all()):
            _as_assignee(info)
        rows.append(_row(user, info, a, a.campaign_id))
    return rows


def _as_assignee(info: _FamilyInfo) -> None:
    """The assignment is the need to know: whoever visits a family sees its children's names
    and classes, and that one of them needs particular care (contacts, categories and reasons
    still follow the scoping layer)."""
    info.visible = list(info.children)
    info.focus = info.focus_any


def with_companions(queryset: QuerySet[TaskAssignment]) -> QuerySet[TaskAssignment]:
    return queryset.select_related("lead", "family").prefetch_related(_companions_prefetch())
