"""The functions that change the task map (R8, R10, R18), one transaction each.

**The lead rule** (主访教师). A family's lead is the head teacher of its youngest enrolled
child's class: the children are taken in order of grade (lowest first), then class, then
student id, and the first class that has an active head teacher gives the lead. Younger
children need the closest home–school contact, and a family with children in two classes thus
gets exactly one lead. A teacher with a lighter load (`TeacherLoad.max_families`) leads at most
that many drafted families: the overflow goes to the head teacher of another enrolled child of
the family (in the same order) while that teacher is under their own cap; a family with no such
alternative stays with the teacher and is flagged `over_cap` ("超出减负上限") for the
coordinator to move. Families that cannot move are placed first, so the families that could go
elsewhere are the ones that do. A family none of whose children's classes has a head teacher
gets no lead (shown as "未分配").

**Companions** (同行教师, R10): one per family, among the subject teachers of the lead's class
(the class that gave the lead), the one with the lowest companion load so far in the campaign
and school, load divided by the teacher's share (`TeacherLoad.share`, percent; 50 means about
half the families of a colleague, 0 never), ties to the lower load, then the lower user id.

**Proximity** (R18) is how a teacher's list is shown, not who gets it: `taskmap.proximity`.

`taskmap_draft` recomputes every family with enrolled children at the school that has no manual
assignment and writes only the differences (running it twice changes nothing; a row whose lead,
companions or flag change gets a new version). `taskmap_reassign` is the coordinator's change: it
marks the rows `manual`, so a later draft leaves them alone (their leads and companions count in
the draft's loads). Callers (pages, API, demo) check who may do this through
`taskmap.selectors`; these functions validate the data and raise `ValidationError` with Chinese
messages per field.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from jiafang.accounts.models import Role, User
from jiafang.campaigns.models import Campaign
from jiafang.campaigns.selectors import campaign_includes_school
from jiafang.schools.models import School, Student
from jiafang.taskmap.models import TaskAssignment, TaskCompanion, TeacherLoad

ENROLLED = Student.Status.ENROLLED
MAX_CAP = 500
BATCH_SIZE = 1000
Child = tuple[int, int, int]  # (grade, class id, student id)


@dataclass(frozen=True)
class DraftResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    manual: int = 0  # families left alone because a coordinator assigned them
    over_cap: int = 0
    without_lead: int = 0


@dataclass(frozen=True)
class ReassignResult:
    assignments: list[TaskAssignment]
    warnings: list[str] = field(default_factory=list)


# --- helpers ----------------------------------------------------------------------------------

def _errors():
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    return errors, add


def _check_campaign(add, campaign: Campaign, school: School) -> None:
    if campaign.archived:
        add("campaign", _("该活动已归档。"))
    elif not campaign_includes_school(campaign, school.pk):
        add("campaign", _("该学校不在本次活动范围内。"))


def _lock(school: School) -> None:
    """Serialise the task-map writes of one school (two coordinators drafting at once)."""
    list(School.objects.select_for_update().filter(pk=school.pk).values_list("pk", flat=True))


def _school_staff_ids(school_id: int, user_ids: Iterable[int]) -> set[int]:
    """Those of these users who are active and hold a role at the school."""
    return set(Role.objects.filter(school_id=school_id, user_id__in=list(user_ids),
                                   user__is_active=True).values_list("user_id", flat=True))


@dataclass
class _Staff:
    heads: dict[int, int]  # class id → its active head teacher
    subjects: dict[int, list[int]]  # class id → its active subject teachers (by user id)
    loads: dict[int, TeacherLoad]  # user id → lighter load

    def cap(self, user_id: int) -> int | None:
        load = self.loads.get(user_id)
        return load.max_families if load is not None else None

    def under_cap(self, user_id: int, lead_load: Counter) -> bool:
        cap = self.cap(user_id)
        return cap is None or lead_load[user_id] < cap


def _staff(school_id: int, campaign: Campaign) -> _Staff:
    heads: dict[int, int] = {}
    subjects: dict[int, list[int]] = defaultdict(list)
    for kind, class_id, user_id in (
            Role.objects.filter(school_id=school_id, user__is_active=True,
                                kind__in=[Role.Kind.HEAD_TEACHER, Role.Kind.SUBJECT_TEACHER])
            .order_by("user_id").values_list("kind", "school_class_id", "user_id")):
        if kind == Role.Kind.HEAD_TEACHER:
            heads[class_id] = user_id
        elif user_id not in subjects[class_id]:
            subjects[class_id].append(user_id)
    loads = {load.user_id: load for load in TeacherLoad.objects.filter(
        campaign=campaign, school_id=school_id)}
    return _Staff(heads, dict(subjects), loads)


def _children(school_id: int, family_ids: Sequence[int] | None = None) -> dict[int, list[Child]]:
    """Each family's enrolled children at the school, in lead-rule order."""
    students = Student.objects.filter(school_id=school_id, status=ENROLLED)
    if family_ids is not None:
        students = students.filter(family_id__in=list(family_ids))
    result: dict[int, list[Child]] = defaultdict(list)
    for family_id, grade, class_id, student_id in students.order_by().values_list(
            "family_id", "school_class__grade", "school_class_id", "pk"):
        result[family_id].append((grade, class_id, student_id))
    for children in result.values():
        children.sort()
    return dict(result)


def lead_candidates(children: list[Child], heads: dict[int, int]) -> list[tuple[int, int]]:
    """(class id, head teacher id) in the order of the lead rule, one per teacher."""
    seen: set[int] = set()
    result = []
    for _grade, class_id, _student in children:
        user_id = heads.get(class_id)
        if user_id is not None and user_id not in seen:
            seen.add(user_id)
            result.append((class_id, user_id))
    return result


class _CompanionPicker:
    """Balanced companions: the lowest load after taking one more family, divided by the share."""

    def __init__(self, counts: Counter, loads: dict[int, TeacherLoad]):
        self.counts = counts
        self.loads = loads

    def weight(self, user_id: int) -> float:
        load = self.loads.get(user_id)
        return (load.share if load is not None else 100) / 100

    def pick(self, candidates: Iterable[int], *, exclude: int | None) -> int | None:
        options = [u for u in dict.fromkeys(candidates) if u != exclude and self.weight(u) > 0]
        if not options:
            return None
        best = min(options, key=lambda u: ((self.counts[u] + 1) / self.weight(u),
                                           self.counts[u], u))
        self.counts[best] += 1
        return best


def _companion_ids(assignment: TaskAssignment) -> list[int]:
    return sorted(c.user_id for c in assignment.task_companions.all())


def _write(school: School, creates: list[tuple[TaskAssignment, list[int]]],
           updates: list[tuple[TaskAssignment, list[int]]], fields: list[str]) -> None:
    """New rows, changed rows and their companions, in bulk."""
    TaskAssignment.objects.bulk_create([a for a, _c in creates], batch_size=BATCH_SIZE)
    if updates:
        TaskAssignment.objects.bulk_update([a for a, _c in updates], fields,
                                           batch_size=BATCH_SIZE)
        TaskCompanion.objects.filter(
            assignment_id__in=[a.pk for a, _c in updates]).delete()
    TaskCompanion.objects.bulk_create(
        [TaskCompanion(school_id=school.pk, assignment_id=a.pk, user_id=user_id)
         for a, companions in creates + updates for user_id in companions],
        batch_size=BATCH_SIZE)


# --- the draft --------------------------------------------------------------------------------

@transaction.atomic
def taskmap_draft(*, campaign: Campaign, school: School, by: User | None) -> DraftResult:
    """Draft the lead and a companion of every family with enrolled children at the school that
    has no manual assignment (the rules are in the module docstring)."""
    errors, add = _errors()
    _check_campaign(add, campaign, school)
    if errors:
        raise ValidationError(errors)
    _lock(school)
    staff = _staff(school.pk, campaign)
    children = _children(school.pk)
    existing = {a.family_id: a for a in TaskAssignment.objects.filter(
        campaign=campaign, school=school).prefetch_related("task_companions")}
    manual = [a for a in existing.values() if a.manual and a.family_id in children]
    lead_load: Counter = Counter(a.lead_id for a in manual if a.lead_id is not None)
    companion_load: Counter = Counter(u for a in manual for u in _companion_ids(a))

    todo = sorted(f for f in children if f not in existing or not existing[f].manual)
    candidates = {f: lead_candidates(children[f], staff.heads) for f in todo}
    plan: dict[int, tuple[int | None, int | None, bool]] = {}  # family → (lead, class, over)
    for f in todo:  # families that cannot move first: they stay whatever the cap
        if len(candidates[f]) <= 1:
            class_id, lead = candidates[f][0] if candidates[f] else (None, None)
            over = lead is not None and not staff.under_cap(lead, lead_load)
            if lead is not None:
                lead_load[lead] += 1
            plan[f] = (lead, class_id, over)
    for f in todo:  # then the others: the first candidate under their cap
        if len(candidates[f]) > 1:
            choice = next(((c, u) for c, u in candidates[f] if staff.under_cap(u, lead_load)),
                          None)
            class_id, lead = choice or candidates[f][0]
            lead_load[lead] += 1
            plan[f] = (lead, class_id, choice is None)

    picker = _CompanionPicker(companion_load, staff.loads)
    now = timezone.now()
    creates: list[tuple[TaskAssignment, list[int]]] = []
    updates: list[tuple[TaskAssignment, list[int]]] = []
    unchanged = over_cap = without_lead = 0
    for f in todo:
        lead, class_id, over = plan[f]
        companion = (picker.pick(staff.subjects.get(class_id, []), exclude=lead)
                     if class_id is not None else None)
        companions = [companion] if companion is not None else []
        over_cap += over
        without_lead += lead is None
        row = existing.get(f)
        if row is None:
            creates.append((TaskAssignment(
                school=school, campaign=campaign, family_id=f, lead_id=lead, over_cap=over,
                updated_by=by, updated_at=now), companions))
        elif (row.lead_id, _companion_ids(row), row.over_cap) != (lead, companions, over):
            row.lead_id, row.over_cap = lead, over
            row.version += 1
            row.updated_by, row.updated_at = by, now
            updates.append((row, companions))
        else:
            unchanged += 1
    stale = [a.pk for a in existing.values() if not a.manual and a.family_id not in children]
    if stale:
        TaskAssignment.objects.filter(pk__in=stale).delete()
    _write(school, creates, updates, ["lead", "over_cap", "version", "updated_by", "updated_at"])
    return DraftResult(created=len(creates), updated=len(updates), unchanged=unchanged,
                       removed=len(stale), manual=len(manual), over_cap=over_cap,
                       without_lead=without_lead)


# --- the coordinator's changes ----------------------------------------------------------------

@transaction.atomic
def taskmap_reassign(*, campaign: Campaign, school: School, family_ids: Iterable[int],
                     lead: User, companions: Sequence[User] | None = None,
                     by: User | None) -> ReassignResult:
    """Give these families (bulk) to `lead`, marked manual so a redraft keeps them.

    `companions=None` suggests one as the draft would (balanced, among the subject teachers of
    the lead's class when the lead is the head teacher of one of the family's children, else of
    the children's classes); `[]` means no companion. The lead and the companions must be
    active staff of the school."""
    errors, add = _errors()
    _check_campaign(add, campaign, school)
    ids = sorted(set(family_ids))
    children = _children(school.pk, ids) if ids else {}
    if not ids:
        add("family_ids", _("请至少选择一个家庭。"))
    elif set(ids) - set(children):
        add("family_ids", _("所选家庭不属于本校或没有在读学生。"))
    companion_ids = (None if companions is None
                     else sorted({u.pk for u in companions} - {lead.pk}))
    staff_ids = _school_staff_ids(school.pk, [lead.pk, *(companion_ids or [])])
    if lead.pk not in staff_ids:
        add("lead", _("家访教师必须是本校教职工。"))
    if companion_ids and set(companion_ids) - staff_ids:
        add("companions", _("同行教师必须是本校教职工。"))
    if errors:
        raise ValidationError(errors)
    _lock(school)
    staff = _staff(school.pk, campaign)
    existing = {a.family_id: a for a in TaskAssignment.objects.filter(
        campaign=campaign, family_id__in=ids).prefetch_related("task_companions")}
    picker = None
    if companion_ids is None:
        counts = Counter(dict(
            TaskCompanion.objects.filter(assignment__campaign=campaign, school=school)
            .exclude(assignment__family_id__in=ids).order_by()
            .values_list("user_id").annotate(n=Count("pk"))))
        picker = _CompanionPicker(counts, staff.loads)
    now = timezone.now()
    creates: list[tuple[TaskAssignment, list[int]]] = []
    updates: list[tuple[TaskAssignment, list[int]]] = []
    result: list[TaskAssignment] = []
    for f in ids:
        chosen = companion_ids
        if picker is not None:
            class_ids = [c for _g, c, _s in children[f]]
            own = [c for c in class_ids if staff.heads.get(c) == lead.pk]
            pool = [u for c in (own[:1] or class_ids) for u in staff.subjects.get(c, [])]
            companion = picker.pick(pool, exclude=lead.pk)
            chosen = [companion] if companion is not None else []
        row = existing.get(f)
        if row is None:
            row = TaskAssignment(school=school, campaign=campaign, family_id=f, lead=lead,
                                 manual=True, updated_by=by, updated_at=now)
            creates.append((row, chosen))
        elif (row.lead_id, _companion_ids(row), row.manual, row.over_cap) != (
                lead.pk, chosen, True, False):
            row.lead, row.manual, row.over_cap = lead, True, False
            row.version += 1
            row.updated_by, row.updated_at = by, now
            updates.append((row, chosen))
        result.append(row)
    _write(school, creates, updates,
           ["lead", "manual", "over_cap", "version", "updated_by", "updated_at"])
    warnings = []
    cap = staff.cap(lead.pk)
    if cap is not None:
        led = TaskAssignment.objects.filter(campaign=campaign, school=school,
                                            lead=lead).count()
        if led > cap:
            warnings.append(_("%(name)s 现主访 %(n)s 户，超过减负上限（%(cap)s 户）。") % {
                "name": lead.display_name, "n": led, "cap": cap})
    return ReassignResult(result, warnings)


@transaction.atomic
def teacher_load_set(*, campaign: Campaign, school: School, user: User,
                     max_families: int | None, reason: str, by: User | None,
                     share: int = 100) -> TeacherLoad | None:
    """Set (or, with no cap and a full share, clear) a teacher's lighter load in a campaign
    (R18). The next draft respects it; rows a coordinator assigned stay as they are."""
    errors, add = _errors()
    _check_campaign(add, campaign, school)
    reason = (reason or "").strip()
    if user.pk not in _school_staff_ids(school.pk, [user.pk]):
        add("user", _("只能为本校教职工设置减负。"))
    if max_families is not None and not 0 <= max_families <= MAX_CAP:
        add("max_families", _("最多主访家庭数应在 0 到 %(max)s 之间。") % {"max": MAX_CAP})
    if not 0 <= share <= 100:
        add("share", _("同行任务份额应在 0 到 100 之间。"))
    lighter = max_families is not None or share < 100
    if lighter and not reason:
        add("reason", _("请填写减负原因。"))
    if len(reason) > 200:
        add("reason", _("减负原因不能超过 200 个字。"))
    if errors:
        raise ValidationError(errors)
    _lock(school)  # a missing row locks nothing: two first saves would both insert
    current = (TeacherLoad.objects.select_for_update()
               .filter(campaign=campaign, school=school, user=user).first())
    if not lighter:
        if current is not None:
            current.delete()
        return None
    if current is None:
        current = TeacherLoad(campaign=campaign, school=school, user=user)
    current.max_families, current.share, current.reason = max_families, share, reason
    current.updated_by, current.updated_at = by, timezone.now()
    current.save()
    return current
