"""Task map pages (issue 3 point 3; R8, R10, R18). Thin: lookups through
`taskmap.selectors` (the scoping layer), changes through `taskmap.services` only.

- `/schools/<id>/taskmap/?campaign=<id>`: the school-wide map (principal, coordinator; bureau
  officers read only). The principal and coordinator post "生成任务草案", the bulk reassignment
  and lighter loads to the three POST URLs beside it; each redirects back to the map (POST,
  redirect, GET) or shows the map again with the errors next to the fields and the checked
  families still checked (400).
- `/taskmap/mine/?campaign=<id>`: 我的家访任务, the families the user leads or accompanies.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from jiafang.campaigns.selectors import get_campaign_for_user
from jiafang.core.errors import form_add_errors, validation_messages
from jiafang.taskmap import forms as tforms
from jiafang.taskmap import selectors, services
from jiafang.visits.selectors import school_staff

REASSIGN_FIELDS = {"companions": "companion"}  # the service's key → the form's field


def _map_url(school, campaign) -> str:
    url = reverse("taskmap:school", args=[school.pk])
    return f"{url}?campaign={campaign.pk}" if campaign is not None else url


def _page(request, school, campaign, *, reassign_form=None, load_form=None, selected=(),
          status: int = 200):
    can_change = selectors.can_change_taskmap(request.user, school)
    context = {"school": school, "campaign": campaign, "can_change": can_change,
               "selected": set(selected)}
    if campaign is not None:
        context["map"] = selectors.school_map(request.user, school, campaign)
        # a teacher's list is folded; unfold those holding the families just ticked
        context["open_teachers"] = {
            str(t.user.pk) for t in context["map"].teachers
            if any(row.family.pk in context["selected"] for g in t.groups for row in g.rows)}
        if can_change:
            staff = school_staff(school.pk)
            context["reassign_form"] = reassign_form or tforms.ReassignForm(staff=staff)
            context["load_form"] = load_form or tforms.LoadForm(staff=staff)
    return render(request, "taskmap/school_map.html", context, status=status)


@require_GET
def school_map(request, pk: int):
    """The school-wide task map: by teacher, then community; focus families flagged."""
    school = selectors.get_school_for_taskmap(request.user, pk)
    campaign = selectors.campaign_for_taskmap(request.user, school, request.GET.get("campaign"))
    return _page(request, school, campaign)


def _change_target(request, pk: int):
    school = selectors.get_school_for_taskmap_change(request.user, pk)
    campaign = selectors.campaign_for_taskmap(request.user, school, request.POST.get("campaign"))
    return school, campaign


@require_POST
def draft(request, pk: int):
    """生成任务草案: every family without a coordinator's assignment is drafted again."""
    school, campaign = _change_target(request, pk)
    if campaign is None:
        messages.error(request, _("本校目前没有家访活动。"))
        return redirect(_map_url(school, None))
    try:
        result = services.taskmap_draft(campaign=campaign, school=school, by=request.user)
    except ValidationError as error:
        for msgs in validation_messages(error).values():
            for message in msgs:
                messages.error(request, message)
    else:
        messages.success(request, _(
            "任务草案已生成：新分配 %(created)s 户，调整 %(updated)s 户，未变 %(unchanged)s 户；"
            "手动调整的 %(manual)s 户保持不变。") % {
                "created": result.created, "updated": result.updated,
                "unchanged": result.unchanged, "manual": result.manual})
        if result.over_cap:
            messages.warning(request, _("%(n)s 户超出教师减负上限且无法改派，请手动调整。")
                             % {"n": result.over_cap})
        if result.without_lead:
            messages.warning(request, _("%(n)s 户所在班级没有班主任，尚未分配主访教师。")
                             % {"n": result.without_lead})
    return redirect(_map_url(school, campaign))


@require_POST
def reassign(request, pk: int):
    """Move the checked families to another teacher (marked as adjusted by hand)."""
    school, campaign = _change_target(request, pk)
    if campaign is None:
        messages.error(request, _("本校目前没有家访活动。"))
        return redirect(_map_url(school, None))
    selected = tforms.family_ids(request.POST)
    form = tforms.ReassignForm(request.POST, staff=school_staff(school.pk))
    if form.is_valid():
        try:
            result = services.taskmap_reassign(
                campaign=campaign, school=school, family_ids=selected,
                lead=form.cleaned_data["lead"], companions=form.companions(), by=request.user)
        except ValidationError as error:
            form_add_errors(form, error, REASSIGN_FIELDS)
        else:
            messages.success(request, _("已将 %(n)s 户调整给 %(name)s。") % {
                "n": len(result.assignments), "name": form.cleaned_data["lead"].display_name})
            for warning in result.warnings:
                messages.warning(request, warning)
            lead = form.cleaned_data["lead"].pk  # show where the families went
            return redirect(f"{_map_url(school, campaign)}&teacher={lead}#teacher-{lead}")
    return _page(request, school, campaign, reassign_form=form, selected=selected, status=400)


@require_POST
def load_set(request, pk: int):
    """Set or clear a teacher's lighter load (R18)."""
    school, campaign = _change_target(request, pk)
    if campaign is None:
        messages.error(request, _("本校目前没有家访活动。"))
        return redirect(_map_url(school, None))
    form = tforms.LoadForm(request.POST, staff=school_staff(school.pk))
    if form.is_valid():
        data = form.cleaned_data
        try:
            load = services.teacher_load_set(
                campaign=campaign, school=school, user=data["user"],
                max_families=data["max_families"], share=data["share"],
                reason=data["reason"], by=request.user)
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            name = data["user"].display_name
            messages.success(request, _("已为 %(name)s 设置减负，重新生成草案后生效。") % {
                "name": name} if load is not None else _("已取消 %(name)s 的减负。") % {
                "name": name})
            return redirect(_map_url(school, campaign))
    return _page(request, school, campaign, load_form=form, status=400)


@require_GET
def mine(request):
    """我的家访任务: the families the user leads or accompanies, neighbours together."""
    campaign = None
    if request.GET.get("campaign"):
        campaign = get_campaign_for_user(request.user, request.GET["campaign"])
    sections = selectors.my_families(request.user, campaign)
    return render(request, "taskmap/mine.html", {"sections": sections, "campaign": campaign})
