"""State changes of school data that are not part of a roster import."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from jiafang.accounts.models import User
from jiafang.schools.models import Bureau, FocusCategory, FocusFlag, School, Student


@transaction.atomic
def focus_flag_set(*, student: Student, category: FocusCategory, by: User | None,
                   reason: str = "") -> FocusFlag:
    """Flag a student with a focus category (R4). Idempotent: an active flag is kept as is."""
    existing = FocusFlag.objects.filter(student=student, category=category, cleared_at=None).first()
    if existing is not None:
        return existing
    return FocusFlag.objects.create(
        school_id=student.school_id, student=student, category=category,
        reason=reason.strip()[:200], set_by=by, set_at=timezone.now(),
    )


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
    return school
