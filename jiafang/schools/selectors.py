"""Scoped reads for pages, API and exports. Every function starts from the scoping layer and
runs a constant number of queries whatever the size of the school (tests assert the counts)."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from jiafang.accounts.models import Role, User
from jiafang.schools import scoping
from jiafang.schools.models import (
    Family,
    FocusCategory,
    FocusFlag,
    Guardian,
    School,
    SchoolClass,
    Student,
)
from jiafang.schools.text import mask_address, mask_phone

ENROLLED = Student.Status.ENROLLED


def _count_subquery(queryset: QuerySet, outer_field: str, inner_field: str,
                    distinct_field: str = "pk") -> Coalesce:
    counted = (queryset.filter(**{inner_field: OuterRef(outer_field)})
               .order_by().values(inner_field)
               .annotate(n=Count(distinct_field, distinct=True)).values("n"))
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def enrolled_students() -> QuerySet[Student]:
    return Student.objects.filter(status=ENROLLED)


def active_flags() -> QuerySet[FocusFlag]:
    return FocusFlag.objects.filter(cleared_at=None, student__status=ENROLLED)


def school_rows(user: User) -> QuerySet[School]:
    """The bureau overview: each visible school with its student, family and focus counts,
    read from the figures the write paths keep current (one row per school)."""
    return (
        scoping.schools_for_user(user)
        .select_related("bureau", "figures")
        .annotate(
            student_count=Coalesce("figures__student_count", 0),
            family_count=Coalesce("figures__family_count", 0),
            focus_count=Coalesce("figures__focus_count", 0),
            class_count=Coalesce("figures__class_count", 0),
        )
        .order_by("code")
    )


def focus_category_totals(schools: list[School]) -> list[tuple[FocusCategory, int]]:
    """Students per focus category over these schools (rows from school_rows), from figures."""
    totals: dict[str, int] = {}
    for school in schools:
        figures = getattr(school, "figures", None)
        for category_id, n in (figures.focus_by_category if figures else {}).items():
            totals[category_id] = totals.get(category_id, 0) + n
    return [(c, totals.get(str(c.pk), 0)) for c in FocusCategory.objects.filter(active=True)]


def class_rows(user: User, school: School | None = None) -> QuerySet[SchoolClass]:
    """The school overview: classes visible to the user, with counts and head teacher."""
    head = Role.objects.filter(kind=Role.Kind.HEAD_TEACHER, school_class=OuterRef("pk"))
    classes = scoping.classes_for_user(user)
    if school is not None:
        if school.pk in scoping.access_for(user).overview_school_ids:
            # the overview lists every class with its figures; opening one is checked apart
            classes = SchoolClass.objects.filter(school=school)
        else:
            classes = classes.filter(school=school)
    return (
        classes
        .annotate(
            student_count=_count_subquery(enrolled_students(), "pk", "school_class"),
            family_count=_count_subquery(enrolled_students(), "pk", "school_class", "family"),
            focus_count=_count_subquery(active_flags(), "pk", "student__school_class", "student"),
            head_teacher_name=Subquery(head.values("user__full_name")[:1]),
        )
        .order_by("school_id", "grade", "number")
    )


def focus_category_counts(*, students: QuerySet[Student]) -> list[tuple[FocusCategory, int]]:
    """Students per focus category among the given students (one query + the categories)."""
    counts = dict(
        FocusFlag.objects.filter(cleared_at=None, student__in=students.filter(status=ENROLLED))
        .order_by().values_list("category").annotate(n=Count("student", distinct=True))
    )
    return [(c, counts.get(c.pk, 0)) for c in FocusCategory.objects.filter(active=True)]


def _flags_prefetch(active_only: bool = True) -> Prefetch:
    flags = FocusFlag.objects.select_related("category").order_by("category__sort_order")
    if active_only:
        flags = flags.filter(cleared_at=None)
    return Prefetch("focus_flags", queryset=flags, to_attr="active_flags")


@dataclass
class GuardianView:
    name: str
    relation: str
    phone: str


@dataclass
class FamilyGroup:
    """One household in a class roster: the class's children of it, siblings elsewhere."""

    family: Family
    address: str
    guardians: list[GuardianView]
    students: list[Student] = field(default_factory=list)
    siblings_elsewhere: list[Student] = field(default_factory=list)  # those the user may see
    hidden_siblings: int = 0  # enrolled children of the family the user may not see

    @property
    def has_focus(self) -> bool:
        return any(s.active_flags for s in self.students)


def guardian_views(guardians, *, show_contacts: bool) -> list[GuardianView]:
    return [GuardianView(g.name, g.relation, g.phone if show_contacts else mask_phone(g.phone))
            for g in guardians]


def class_roster(user: User, school_class: SchoolClass) -> list[FamilyGroup]:
    """The class roster grouped by family, siblings and focus tags visible (4 queries)."""
    show_contacts = scoping.can_see_contacts(user, school_id=school_class.school_id,
                                             class_id=school_class.pk)
    students = list(
        enrolled_students().filter(school_class=school_class)
        .select_related("family")
        .prefetch_related(
            _flags_prefetch(),
            Prefetch("family__guardians", queryset=Guardian.objects.order_by("position", "pk")),
        )
        .order_by("student_number")
    )
    family_ids = {s.family_id for s in students}
    visible_ids = set(scoping.students_for_user(user).filter(family_id__in=family_ids)
                      .values_list("pk", flat=True))
    siblings: dict[int, list[Student]] = {}
    hidden: dict[int, int] = {}
    for sib in (enrolled_students().filter(family_id__in=family_ids)
                .exclude(school_class=school_class).select_related("school_class")
                .only("name", "family_id", "school_class__grade", "school_class__number",
                      "school_class__school_id")):
        if sib.pk in visible_ids:
            siblings.setdefault(sib.family_id, []).append(sib)
        else:
            hidden[sib.family_id] = hidden.get(sib.family_id, 0) + 1
    groups: dict[int, FamilyGroup] = {}
    for student in students:
        family = student.family
        group = groups.get(family.pk)
        if group is None:
            group = groups[family.pk] = FamilyGroup(
                family=family,
                address=family.address if show_contacts else mask_address(family.address),
                guardians=guardian_views(family.guardians.all(), show_contacts=show_contacts),
                siblings_elsewhere=siblings.get(family.pk, []),
                hidden_siblings=hidden.get(family.pk, 0),
            )
        group.students.append(student)
    return sorted(groups.values(), key=lambda g: (not g.has_focus, g.students[0].student_number))


@dataclass
class StudentProfile:
    student: Student
    address: str
    guardians: list[GuardianView]
    siblings: list[Student]  # those the user may see
    hidden_siblings: int
    active_flags: list[FocusFlag]
    flag_history: list[FocusFlag] | None
    show_contacts: bool
    can_change_focus: bool
    can_open_class: bool


def student_profile(user: User, student: Student) -> StudentProfile:
    """The student page: family, guardians, focus flags and (if the role may) their history."""
    kwargs = {"school_id": student.school_id, "class_id": student.school_class_id}
    show_contacts = scoping.can_see_contacts(user, **kwargs)
    details = scoping.can_see_focus_details(user, **kwargs)
    flags = list(FocusFlag.objects.filter(student=student)
                 .select_related("category", "set_by", "cleared_by")
                 .order_by("-set_at", "-pk"))
    family = list(enrolled_students().filter(family_id=student.family_id)
                  .exclude(pk=student.pk).select_related("school_class"))
    visible_ids = set(scoping.students_for_user(user).filter(family_id=student.family_id)
                      .values_list("pk", flat=True))
    siblings = [s for s in family if s.pk in visible_ids]
    return StudentProfile(
        student=student,
        address=student.family.address if show_contacts else mask_address(student.family.address),
        guardians=guardian_views(student.family.guardians.order_by("position", "pk"),
                                 show_contacts=show_contacts),
        siblings=siblings,
        hidden_siblings=len(family) - len(siblings),
        active_flags=[f for f in flags if f.active],
        flag_history=flags if details else None,
        show_contacts=show_contacts,
        can_change_focus=scoping.can_change_focus(user, **kwargs),
        can_open_class=scoping.classes_for_user(user).filter(pk=student.school_class_id).exists(),
    )


def focus_students(user: User, school: School, category: FocusCategory | None = None
                   ) -> QuerySet[Student]:
    """The school's focus students the user may see (mental-health teacher's home)."""
    flags = FocusFlag.objects.filter(cleared_at=None)
    if category is not None:
        flags = flags.filter(category=category)
    return (
        scoping.students_for_user(user)
        .filter(school=school, status=ENROLLED, pk__in=flags.values("student"))
        .select_related("school_class")
        .prefetch_related(_flags_prefetch())
        .order_by("school_class__grade", "school_class__number", "student_number")
    )


def student_search(user: User, *, school_id: int | None = None, class_id: int | None = None,
                   category: FocusCategory | None = None, status: str = ENROLLED,
                   q: str = "") -> QuerySet[Student]:
    """The scoped, filtered student list of the API (status "" means every status)."""
    qs = scoping.students_for_user(user)
    if school_id is not None:
        qs = qs.filter(school_id=school_id)
    if class_id is not None:
        qs = qs.filter(school_class_id=class_id)
    if status:
        qs = qs.filter(status=status)
    if category is not None:
        qs = qs.filter(pk__in=FocusFlag.objects.filter(cleared_at=None, category=category)
                       .values("student"))
    if q:
        qs = qs.filter(Q(name__contains=q) | Q(student_number=q))
    return qs
