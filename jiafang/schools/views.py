"""Pages over the district's data. Thin: every lookup goes through the scoping layer."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from jiafang.campaigns.selectors import current_campaign_for_school
from jiafang.schools import scoping, selectors
from jiafang.schools.forms import FocusClearForm, FocusFlagForm
from jiafang.schools.models import FocusCategory, FocusFlag
from jiafang.schools.services import focus_flag_clear, focus_flag_set


@require_GET
def school_list(request):
    """Bureau overview (R1, R3, R4): every visible school with its counts."""
    rows = list(selectors.school_rows(request.user))
    if not rows:
        raise Http404
    totals = {key: sum(getattr(r, key) for r in rows)
              for key in ("student_count", "family_count", "focus_count", "class_count")}
    categories = selectors.focus_category_totals(rows)
    return render(request, "schools/school_list.html",
                  {"schools": rows, "totals": totals, "categories": categories})


@require_GET
def school_detail(request, pk: int):
    """School overview: classes with counts; focus categories."""
    school = scoping.get_school_for_user(request.user, pk)
    classes = list(selectors.class_rows(request.user, school))
    access = scoping.access_for(request.user)
    categories = selectors.focus_category_counts(
        students=scoping.students_for_user(request.user).filter(school=school))
    can_open_classes = school.pk in access.full_school_ids
    return render(request, "schools/school_detail.html", {
        "school": school, "classes": classes, "categories": categories,
        "can_open_classes": can_open_classes,
        "can_manage_roster": scoping.can_manage_roster(request.user, school_id=school.pk),
        "can_see_focus_list": school.pk in (access.managed_school_ids | access.focus_school_ids),
        "show_bureau_link": bool(access.bureau_school_ids),
        "campaign": current_campaign_for_school(request.user, school),
    })


@require_GET
def school_focus(request, pk: int):
    """The school's focus students (mental-health teacher, principal, coordinator)."""
    school = scoping.get_school_for_user(request.user, pk)
    access = scoping.access_for(request.user)
    if school.pk not in (access.managed_school_ids | access.focus_school_ids):
        raise Http404
    category = None
    if request.GET.get("category"):
        category = FocusCategory.objects.filter(code=request.GET["category"]).first()
    students = list(selectors.focus_students(request.user, school, category))
    return render(request, "schools/school_focus.html", {
        "school": school, "students": students, "category": category,
        "categories": FocusCategory.objects.filter(active=True),
        "show_bureau_link": bool(access.bureau_school_ids),
    })


@require_GET
def class_detail(request, pk: int):
    """Class roster grouped by family, siblings and focus tags visible (R3, R4)."""
    school_class = scoping.get_class_for_user(request.user, pk)
    access = scoping.access_for(request.user)
    groups = selectors.class_roster(request.user, school_class)
    return render(request, "schools/class_detail.html", {
        "school_class": school_class, "groups": groups,
        "student_count": sum(len(g.students) for g in groups),
        "show_contacts": scoping.can_see_contacts(request.user, school_id=school_class.school_id,
                                                  class_id=school_class.pk),
        "can_open_school": school_class.school_id in access.overview_school_ids,
    })


@require_GET
def student_detail(request, pk: int):
    student = scoping.get_student_for_user(request.user, pk)
    profile = selectors.student_profile(request.user, student)
    return render(request, "schools/student_detail.html", {
        "profile": profile, "student": student, "flag_form": FocusFlagForm(),
    })


def _student_for_focus_change(request, pk):
    student = scoping.get_student_for_user(request.user, pk)
    if not scoping.can_change_focus(request.user, school_id=student.school_id,
                                    class_id=student.school_class_id):
        raise PermissionDenied
    return student


@require_POST
def student_focus_set(request, pk: int):
    student = _student_for_focus_change(request, pk)
    form = FocusFlagForm(request.POST)
    if form.is_valid():
        focus_flag_set(student=student, category=form.cleaned_data["category"], by=request.user,
                       reason=form.cleaned_data["reason"])
        messages.success(request, _("已标记关注类别。"))
        return redirect("schools:student", pk=student.pk)
    profile = selectors.student_profile(request.user, student)
    return render(request, "schools/student_detail.html",
                  {"profile": profile, "student": student, "flag_form": form}, status=400)


@require_POST
def student_focus_clear(request, pk: int, flag_pk: int):
    student = _student_for_focus_change(request, pk)
    flag = FocusFlag.objects.filter(student=student, pk=flag_pk, cleared_at=None).first()
    if flag is None:
        raise Http404
    form = FocusClearForm(request.POST)
    if form.is_valid():
        focus_flag_clear(flag=flag, by=request.user, reason=form.cleaned_data["reason"])
        messages.success(request, _("已取消关注类别，历史记录保留。"))
    else:
        messages.error(request, _("请填写取消原因。"))
    return redirect("schools:student", pk=student.pk)
