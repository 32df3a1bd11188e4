"""The one scoping layer: which schools, classes, students and families a user may see or change.

Every read of school data by a view, an API endpoint or an export starts here. Lookups by id
answer 404 for anything out of scope, so "missing" and "not yours" look the same and ids
cannot be probed; 403 (PermissionDenied) only where the user may see but not change.

Roles (R1):
- bureau officer: every school of the bureau and of its sub-bureaus (contacts masked);
- principal, coordinator: their school, contacts visible; they manage rosters;
- head teacher: their class, contacts visible;
- subject teacher: the classes they teach (contacts masked);
- mental-health teacher: the focus students of their school (contacts masked);
- safety officer: their school's overview figures only, no child's record.

django-scopes is the safety net under this module: the request middleware opens a scope of
`access.school_ids`, so a forgotten filter can at worst reach a school the user has some role in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from jiafang.accounts.models import Role, User
from jiafang.schools.models import Bureau, Family, FocusFlag, School, SchoolClass, Student

Kind = Role.Kind


@dataclass(frozen=True)
class Access:
    """What one user covers, computed once per request from their roles."""

    user_id: int | None
    bureau_school_ids: frozenset[int] = field(default_factory=frozenset)
    managed_school_ids: frozenset[int] = field(default_factory=frozenset)  # principal, coordinator
    principal_school_ids: frozenset[int] = field(default_factory=frozenset)
    safety_school_ids: frozenset[int] = field(default_factory=frozenset)
    focus_school_ids: frozenset[int] = field(default_factory=frozenset)  # mental-health teacher
    head_class_ids: frozenset[int] = field(default_factory=frozenset)
    subject_class_ids: frozenset[int] = field(default_factory=frozenset)
    class_school_ids: frozenset[int] = field(default_factory=frozenset)
    bureau_ids: frozenset[int] = field(default_factory=frozenset)
    # the bureaus of the schools where the user holds a school role (read with the roles)
    staff_bureau_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def school_ids(self) -> frozenset[int]:
        """Every school the user has any role in: the django-scopes scope of the request."""
        return (self.bureau_school_ids | self.managed_school_ids | self.safety_school_ids
                | self.focus_school_ids | self.class_school_ids)

    @property
    def overview_school_ids(self) -> frozenset[int]:
        """Schools whose overview (classes and counts) the user may open."""
        return (self.bureau_school_ids | self.managed_school_ids | self.safety_school_ids
                | self.focus_school_ids)

    @property
    def full_school_ids(self) -> frozenset[int]:
        """Schools where the user sees every class and student."""
        return self.bureau_school_ids | self.managed_school_ids

    @property
    def class_ids(self) -> frozenset[int]:
        return self.head_class_ids | self.subject_class_ids

    @property
    def is_empty(self) -> bool:
        return not self.school_ids


ANONYMOUS = Access(user_id=None)


def bureau_edges(user: User | None = None) -> list[tuple[int, int | None]]:
    """(id, parent id) of every bureau: read once per request when the request's user is given
    (the access check, the campaign lookup and the participating schools all walk the tree)."""
    cached = getattr(user, "_jiafang_bureau_edges", None) if user is not None else None
    if cached is not None:
        return cached
    edges = list(Bureau.objects.values_list("pk", "parent_id"))
    if user is not None:
        user._jiafang_bureau_edges = edges  # type: ignore[attr-defined]
    return edges


def bureau_tree(root_ids: set[int], edges: list | None = None) -> set[int]:
    """The bureaus and all their sub-bureaus (a city holds districts)."""
    edges = edges if edges is not None else bureau_edges()
    result = set(root_ids)
    changed = True
    while changed:
        changed = False
        for pk, parent_id in edges:
            if parent_id in result and pk not in result:
                result.add(pk)
                changed = True
    return result


def access_for(user: User | None) -> Access:
    """The user's Access, cached on the user object for the request."""
    if user is None or not user.is_authenticated or not user.is_active:
        return ANONYMOUS
    cached = getattr(user, "_jiafang_access", None)
    if cached is not None:
        return cached
    roles = list(Role.objects.filter(user=user).values_list(
        "kind", "bureau_id", "school_id", "school_class_id", "school__bureau_id"))
    sets: dict[str, set[int]] = {name: set() for name in (
        "bureau", "managed", "principal", "safety", "focus", "head", "subject", "class_school",
        "staff_bureau")}
    for kind, bureau_id, school_id, class_id, school_bureau_id in roles:
        if school_bureau_id is not None:
            sets["staff_bureau"].add(school_bureau_id)
        if kind == Kind.BUREAU_OFFICER:
            sets["bureau"].add(bureau_id)
        elif kind in (Kind.PRINCIPAL, Kind.COORDINATOR):
            sets["managed"].add(school_id)
            if kind == Kind.PRINCIPAL:
                sets["principal"].add(school_id)
        elif kind == Kind.SAFETY_OFFICER:
            sets["safety"].add(school_id)
        elif kind == Kind.MENTAL_HEALTH:
            sets["focus"].add(school_id)
        elif kind == Kind.HEAD_TEACHER:
            sets["head"].add(class_id)
            sets["class_school"].add(school_id)
        elif kind == Kind.SUBJECT_TEACHER:
            sets["subject"].add(class_id)
            sets["class_school"].add(school_id)
    bureau_ids = bureau_tree(sets["bureau"], bureau_edges(user)) if sets["bureau"] else set()
    bureau_school_ids: set[int] = set()
    if bureau_ids:
        bureau_school_ids = set(
            School.objects.with_scopes_disabled().filter(bureau_id__in=bureau_ids)
            .values_list("pk", flat=True)
        )
    access = Access(
        user_id=user.pk,
        bureau_ids=frozenset(bureau_ids),
        bureau_school_ids=frozenset(bureau_school_ids),
        managed_school_ids=frozenset(sets["managed"]),
        principal_school_ids=frozenset(sets["principal"]),
        safety_school_ids=frozenset(sets["safety"]),
        focus_school_ids=frozenset(sets["focus"]),
        head_class_ids=frozenset(sets["head"]),
        subject_class_ids=frozenset(sets["subject"]),
        class_school_ids=frozenset(sets["class_school"]),
        staff_bureau_ids=frozenset(sets["staff_bureau"]),
    )
    user._jiafang_access = access  # type: ignore[attr-defined]
    return access


# --- querysets --------------------------------------------------------------------------------

def _active_focus() -> Exists:
    return Exists(FocusFlag.objects.filter(student=OuterRef("pk"), cleared_at=None))


def schools_for_user(user: User) -> QuerySet[School]:
    """Schools whose overview the user may open (bureau officers, school leaders, ...)."""
    return School.objects.filter(pk__in=access_for(user).overview_school_ids)


def classes_for_user(user: User) -> QuerySet[SchoolClass]:
    access = access_for(user)
    return SchoolClass.objects.filter(
        Q(school_id__in=access.full_school_ids) | Q(pk__in=access.class_ids)
    )


def students_for_user(user: User) -> QuerySet[Student]:
    access = access_for(user)
    condition = Q(school_id__in=access.full_school_ids) | Q(school_class_id__in=access.class_ids)
    if access.focus_school_ids:
        condition |= Q(school_id__in=access.focus_school_ids) & _active_focus()
    return Student.objects.filter(condition)


def families_for_user(user: User) -> QuerySet[Family]:
    """Families with at least one child the user may see."""
    access = access_for(user)
    visible = students_for_user(user).filter(family=OuterRef("pk"))
    return Family.objects.filter(
        Q(school_id__in=access.full_school_ids) | Exists(visible)
    )


def id_or_404(pk: object) -> int:
    """A row id from a URL or a query string; anything that cannot be one (not a number, or
    beyond the database's 64-bit range, which SQLite answers with an OverflowError) is 404
    like a missing row."""
    try:
        number = int(str(pk))
    except (TypeError, ValueError):
        raise Http404 from None
    if not 0 < number < 2**63:
        raise Http404
    return number


def _get_or_404(queryset: QuerySet, pk: object):
    try:
        return queryset.get(pk=id_or_404(pk))
    except queryset.model.DoesNotExist:
        raise Http404 from None


def get_school_for_user(user: User, pk: object) -> School:
    return _get_or_404(schools_for_user(user), pk)


def school_id_for_user(user: User, pk: object) -> int:
    """The id of a school whose overview the user may open (as `get_school_for_user`, without
    reading the row), else 404: for reads that load the school with more (e.g. its figures)."""
    school_id = id_or_404(pk)
    if school_id not in access_for(user).overview_school_ids:
        raise Http404
    return school_id


def get_class_for_user(user: User, pk: object) -> SchoolClass:
    return _get_or_404(classes_for_user(user).select_related("school"), pk)


def get_student_for_user(user: User, pk: object) -> Student:
    return _get_or_404(
        students_for_user(user).select_related("school", "school_class", "family"), pk
    )


def get_family_for_user(user: User, pk: object) -> Family:
    return _get_or_404(families_for_user(user).select_related("school"), pk)


# --- what a role may see and do inside its scope (field level) --------------------------------

def can_see_contacts(user: User, *, school_id: int, class_id: int | None = None,
                     class_ids: Iterable[int] = ()) -> bool:
    """Guardian phones and home addresses: the school's leaders and the head teacher only
    (of `class_id`, or of any of `class_ids`: a family's children's classes)."""
    access = access_for(user)
    return school_id in access.managed_school_ids or (
        class_id is not None and class_id in access.head_class_ids
    ) or not access.head_class_ids.isdisjoint(class_ids)


def can_see_focus_details(user: User, *, school_id: int, class_id: int | None = None) -> bool:
    """Why a student is flagged, and the flag history: those who care for the child."""
    access = access_for(user)
    return (school_id in access.managed_school_ids or school_id in access.focus_school_ids
            or (class_id is not None and class_id in access.head_class_ids))


def can_change_focus(user: User, *, school_id: int, class_id: int | None = None) -> bool:
    return can_see_focus_details(user, school_id=school_id, class_id=class_id)


def can_manage_roster(user: User, *, school_id: int) -> bool:
    return school_id in access_for(user).managed_school_ids


def roster_schools_for_user(user: User) -> QuerySet[School]:
    """Schools whose rosters the user may import (principal, coordinator)."""
    return School.objects.filter(pk__in=access_for(user).managed_school_ids)
