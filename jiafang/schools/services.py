"""State changes of school data that are not part of a roster import."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope

from jiafang.accounts.models import User
from jiafang.schools.models import (
    Bureau,
    FocusCategory,
    FocusFlag,
    School,
    SchoolClass,
    SchoolFigures,
    Student,
)


@transaction.atomic
def school_figures_refresh(*, school_ids: Iterable[int]) -> None:
    """Recompute the headline counts of these schools (grouped queries, constant in number).

    The figures rows are locked first (in id order, so two writers cannot deadlock): a second
    transaction refreshing the same school waits, then counts what the first committed."""
    ids = sorted(set(school_ids))
    if not ids:
        return
    figures = SchoolFigures.objects.with_scopes_disabled()
    figures.bulk_create([SchoolFigures(school_id=i) for i in ids], ignore_conflicts=True)
    locked = list(figures.select_for_update().filter(school_id__in=ids).order_by("school_id"))
    enrolled = Student.objects.filter(school_id__in=ids, status=Student.Status.ENROLLED)
    students = {row["school_id"]: row for row in enrolled.order_by().values("school_id").annotate(
        students=Count("pk"), families=Count("family", distinct=True))}
    classes = dict(SchoolClass.objects.filter(school_id__in=ids).order_by().values_list(
        "school_id").annotate(n=Count("pk")))
    flags = FocusFlag.objects.filter(school_id__in=ids, cleared_at=None,
                                     student__status=Student.Status.ENROLLED).order_by()
    focus = dict(flags.values_list("school_id").annotate(n=Count("student", distinct=True)))
    by_category: dict[int, dict[str, int]] = {}
    for school_id, category_id, n in flags.values_list("school_id", "category_id").annotate(
            n=Count("student", distinct=True)):
        by_category.setdefault(school_id, {})[str(category_id)] = n
    now = timezone.now()
    for row in locked:
        counted = students.get(row.school_id, {})
        row.class_count = classes.get(row.school_id, 0)
        row.student_count = counted.get("students", 0)
        row.family_count = counted.get("families", 0)
        row.focus_count = focus.get(row.school_id, 0)
        row.focus_by_category = by_category.get(row.school_id, {})
        row.updated_at = now
    figures.bulk_update(locked, ["class_count", "student_count", "family_count", "focus_count",
                                 "focus_by_category", "updated_at"])


@transaction.atomic
def focus_flag_set(*, student: Student, category: FocusCategory, by: User | None,
                   reason: str = "", refresh_figures: bool = True) -> FocusFlag:
    """Flag a student with a focus category (R4). Idempotent: an active flag is kept as is.

    A batch caller (the roster import) passes refresh_figures=False and refreshes once. The
    student row is locked first, so a double submit finds the first flag instead of failing."""
    Student.objects.select_for_update().filter(pk=student.pk).first()
    existing = FocusFlag.objects.filter(student=student, category=category, cleared_at=None).first()
    if existing is not None:
        return existing
    flag = FocusFlag.objects.create(
        school_id=student.school_id, student=student, category=category,
        reason=reason.strip()[:200], set_by=by, set_at=timezone.now(),
    )
    if refresh_figures:
        school_figures_refresh(school_ids=[student.school_id])
    return flag


@transaction.atomic
def focus_flag_clear(*, flag: FocusFlag, by: User | None, reason: str) -> FocusFlag:
    """Clear a flag; the row stays as history with who, when and why."""
    if not reason.strip():
        raise ValidationError(_("请填写取消原因。"))
    now = timezone.now()
    # only the first of two concurrent clears writes who, when and why
    cleared = FocusFlag.objects.filter(pk=flag.pk, cleared_at=None).update(
        cleared_at=now, cleared_by=by, clear_reason=reason.strip()[:200])
    if cleared:
        school_figures_refresh(school_ids=[flag.school_id])
    flag.refresh_from_db()
    return flag


@transaction.atomic
def bureau_create(*, code: str, name: str, parent_code: str = "") -> Bureau:
    parent = Bureau.objects.get(code=parent_code) if parent_code else None
    bureau, _created = Bureau.objects.update_or_create(
        code=code.strip(), defaults={"name": name.strip(), "parent": parent})
    return bureau


@transaction.atomic
def school_create(*, bureau_code: str, code: str, name: str, stage: str) -> School:
    if stage not in School.Stage.values:
        raise ValidationError(_("学段必须是 %(choices)s 之一。") % {
            "choices": "、".join(School.Stage.values)})
    bureau = Bureau.objects.get(code=bureau_code)
    # setting up the district happens before any scope exists (a management command)
    school, _created = School.objects.with_scopes_disabled().update_or_create(
        code=code.strip(), defaults={"bureau": bureau, "name": name.strip(), "stage": stage})
    with scope(school=[school.pk]):
        school_figures_refresh(school_ids=[school.pk])
    return school
