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
    """Recompute the headline counts of these schools (grouped queries, constant in number)."""
    ids = sorted(set(school_ids))
    if not ids:
        return
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
    existing = set(SchoolFigures.objects.with_scopes_disabled().filter(school_id__in=ids)
                   .values_list("school_id", flat=True))
    rows = [SchoolFigures(
        school_id=school_id,
        class_count=classes.get(school_id, 0),
        student_count=students.get(school_id, {}).get("students", 0),
        family_count=students.get(school_id, {}).get("families", 0),
        focus_count=focus.get(school_id, 0),
        focus_by_category=by_category.get(school_id, {}),
        updated_at=timezone.now(),
    ) for school_id in ids]
    fields = ["class_count", "student_count", "family_count", "focus_count", "focus_by_category",
              "updated_at"]
    SchoolFigures.objects.bulk_create([r for r in rows if r.school_id not in existing])
    SchoolFigures.objects.with_scopes_disabled().bulk_update(
        [r for r in rows if r.school_id in existing], fields)


@transaction.atomic
def focus_flag_set(*, student: Student, category: FocusCategory, by: User | None,
                   reason: str = "", refresh_figures: bool = True) -> FocusFlag:
    """Flag a student with a focus category (R4). Idempotent: an active flag is kept as is.

    A batch caller (the roster import) passes refresh_figures=False and refreshes once."""
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
    if flag.cleared_at is None:
        flag.cleared_at = timezone.now()
        flag.cleared_by = by
        flag.clear_reason = reason.strip()[:200]
        flag.save(update_fields=["cleared_at", "cleared_by", "clear_reason"])
        school_figures_refresh(school_ids=[flag.school_id])
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
