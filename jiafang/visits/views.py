"""Pages for scheduling and recording home visits (issue 3 points 4 and 6; R6, R8, R9, R12,
R17, R23). Thin: lookups through `visits.permissions` / the scoping layer, changes through
`visits.services` only."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiafang.campaigns.selectors import current_campaign_for_school
from jiafang.core.errors import form_add_errors, validation_messages
from jiafang.visits import forms as vforms
from jiafang.visits import permissions, selectors, services
from jiafang.visits.models import Visit, VisitRecordDraft

# --- schedule ---------------------------------------------------------------------------------

def _staff_choices(family, children):
    """The school's staff, the children's classes' teachers first."""
    heads, subjects = selectors.class_teacher_ids({s.school_class_id for s in children})
    return selectors.school_staff(family.school_id, first_ids=heads | subjects)


@require_http_methods(["GET", "POST"])
def visit_new(request):
    """Schedule a visit to a family (R8, R17, R23.2): warnings first, then "仍然安排"."""
    family = permissions.get_family_for_schedule(request.user, request.GET.get("family"))
    children = selectors.visit_children(family)
    shown, hidden = selectors.visible_children(request.user, family)
    campaign = current_campaign_for_school(request.user, family.school)
    staff_qs = _staff_choices(family, children)
    context = {"family": family, "children": shown, "hidden_children": hidden,
               "campaign": campaign}
    if request.method == "POST":
        form = vforms.ScheduleForm(request.POST, staff=staff_qs)
        if campaign is None:
            form.add_error(None, _("本校当前没有进行中的家访活动。"))
        elif form.is_valid():
            data = form.cleaned_data
            when = form.scheduled_at()
            companions = [u for u in data["companions"] if u.pk != data["lead"].pk]
            warnings = services.schedule_warnings(
                campaign=campaign, teacher_ids=[data["lead"].pk, *(u.pk for u in companions)],
                scheduled_at=when, duration_minutes=data["duration_minutes"])
            if warnings and request.POST.get("confirm") != "1":
                return render(request, "visits/visit_new.html",
                              {**context, "form": form, "warnings": warnings})
            try:
                result = services.visit_schedule(
                    campaign=campaign, family=family, lead=data["lead"], companions=companions,
                    scheduled_at=when, duration_minutes=data["duration_minutes"],
                    form=data["form"], by=request.user)
            except ValidationError as error:
                form_add_errors(form, error)
            else:
                for warning in result.warnings:
                    messages.warning(request, warning.message)
                messages.success(request, _("已安排家访。"))
                return redirect("visits:detail", pk=result.visit.pk)
        return render(request, "visits/visit_new.html", {**context, "form": form}, status=400)
    from jiafang.taskmap.selectors import assignment_for_family

    # the task map's lead and companions when the family has one (R8, R10), else the default
    task = assignment_for_family(campaign=campaign, family=family) if campaign else None
    if task is not None and task.lead_id is not None:
        initial = {"lead": task.lead_id,
                   "companions": [c.user_id for c in task.task_companions.all()]}
    else:
        lead = selectors.default_lead(request.user, family)
        initial = {"lead": lead.pk if lead else None}
    form = vforms.ScheduleForm(staff=staff_qs, initial=initial)
    return render(request, "visits/visit_new.html", {**context, "form": form})


# --- the visit page and its state changes -----------------------------------------------------

def _render_visit(request, visit: Visit, *, status: int = 200, forms: dict | None = None,
                  stale: bool = False):
    view = selectors.visit_view(request.user, visit)
    version = {"version": visit.version}
    forms = forms or {}
    return render(request, "visits/visit_detail.html", {
        "visit": visit, "view": view, "stale": stale,
        "can_change": permissions.can_change_visit(request.user, visit),
        "can_record": permissions.can_record_visit(request.user, visit),
        "preparation_state": _preparation_state(request.user, visit),
        "is_open": visit.status in services.OPEN_STATES,
        "version_form": forms.get("confirm") or vforms.VersionForm(initial=version),
        "reschedule_form": forms.get("reschedule") or vforms.RescheduleForm(initial=version),
        "decline_form": forms.get("decline") or vforms.ReasonForm(initial=version,
                                                                    auto_id="id_decline_%s"),
        "cancel_form": forms.get("cancel") or vforms.ReasonForm(initial=version,
                                                                  auto_id="id_cancel_%s"),
    }, status=status)


@require_GET
def visit_detail(request, pk: int):
    visit = selectors.get_visit_for_user(request.user, pk)
    return _render_visit(request, visit)


ACTIONS = {
    "confirm": (vforms.VersionForm, _("已确认家访。")),
    "reschedule": (vforms.RescheduleForm, _("已改期，等待确认。")),
    "decline": (vforms.ReasonForm, _("已记录家长婉拒。")),
    "cancel": (vforms.ReasonForm, _("已取消家访。")),
}


def _act(request, visit: Visit, action: str, form):
    data = form.cleaned_data
    common = {"visit": visit, "by": request.user, "expected_version": data["version"]}
    if action == "confirm":
        services.visit_confirm(**common)
    elif action == "reschedule":
        result = services.visit_reschedule(scheduled_at=form.scheduled_at(),
                                           duration_minutes=data.get("duration_minutes"),
                                           **common)
        for warning in result.warnings:
            messages.warning(request, warning.message)
    elif action == "decline":
        services.visit_decline(reason=data["reason"], **common)
    else:
        services.visit_cancel(reason=data["reason"], **common)


@require_POST
def visit_action(request, pk: str, action: str):
    """confirm / reschedule / decline / cancel, with the version the page showed (G1)."""
    if action not in ACTIONS:
        raise Http404
    visit = permissions.get_visit_for_change(request.user, pk)
    form_class, done = ACTIONS[action]
    kwargs = {"auto_id": f"id_{action}_%s"} if action in ("decline", "cancel") else {}
    form = form_class(request.POST, **kwargs)
    if form.is_valid():
        try:
            _act(request, visit, action, form)
        except services.StaleVersion:
            visit.refresh_from_db()
            return _render_visit(request, visit, status=409, stale=True)
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, done)
            return redirect("visits:detail", pk=visit.pk)
    return _render_visit(request, visit, status=400, forms={action: form})


# --- the record -------------------------------------------------------------------------------

def _record_page(request, visit: Visit, *, record=None, values=None, errors=None,
                 status: int = 200, stale: bool = False, record_version=None):
    view = selectors.visit_view(request.user, visit)
    children = selectors.visit_children(visit)
    draft = None
    if record is None and values is None:
        draft = VisitRecordDraft.objects.filter(visit=visit, user=request.user).first()
    if values is None:
        values = (draft.data if draft is not None and draft.data
                  else vforms.record_values(record, visit))
        if record is None and not (draft is not None and draft.data):  # first open (R11)
            values["preparation"] = selectors.preparation_prefill(visit)
    form = vforms.record_form_context(visit=visit, campaign=visit.campaign, children=children,
                                      companions=view.companions, values=values,
                                      errors=errors or {})
    return render(request, "visits/visit_record.html", {
        "visit": visit, "view": view, "record": record, "f": form, "stale": stale,
        "draft": draft, "has_errors": bool(errors),
        "record_version": record_version or (record.version if record else None),
        "draft_key": services.visit_record_draft_key(visit=visit, user=request.user),
        "draft_url": reverse("visits:record_draft", args=[visit.pk]),
        "storage_name": f"jiafang.visit-draft.{request.user.pk}.{visit.pk}",
    }, status=status)


@require_http_methods(["GET", "POST"])
def visit_record(request, pk: int):
    """GET: the form (a saved draft restored), or the submitted record with the amend form.
    POST: submit the record; errors shown next to their fields, everything typed kept."""
    visit = permissions.get_visit_for_record(request.user, pk)
    record = selectors.visit_record_of(visit)
    if request.method == "GET":
        return _record_page(request, visit, record=record)
    if record is not None:
        messages.info(request, _("该家访已有记录，请在下方修改。"))
        return redirect("visits:record", pk=visit.pk)
    children = selectors.visit_children(visit)
    kwargs, errors = vforms.parse_record(request.POST, campaign=visit.campaign,
                                         child_ids=[s.pk for s in children])
    values = vforms.draft_values(request.POST)
    if not errors:
        try:
            services.visit_record_submit(visit=visit, by=request.user, **kwargs)
        except ValidationError as error:
            errors = validation_messages(error)
        else:
            messages.success(request, _("家访记录已提交。"))
            return redirect("visits:record", pk=visit.pk)
    return _record_page(request, visit, values=values, errors=errors, status=400)


@require_POST
def visit_record_amend(request, pk: int):
    """Amend the submitted record with the version the form carried; a stale version is told,
    nothing is overwritten (G1)."""
    visit = permissions.get_visit_for_record(request.user, pk)
    record = selectors.visit_record_of(visit)
    if record is None:
        messages.info(request, _("该家访还没有记录。"))
        return redirect("visits:record", pk=visit.pk)
    children = [c.student for c in record.children.all()]
    kwargs, errors = vforms.parse_record(request.POST, campaign=visit.campaign,
                                         child_ids=[s.pk for s in children])
    values = vforms.draft_values(request.POST)
    try:
        expected = int(request.POST.get("record_version", ""))
    except ValueError:
        expected = -1
    if not errors:
        if "\n".join(t for t, _c in kwargs["parent_demands"]) == record.parent_demands_text:
            kwargs.pop("parent_demands")  # unchanged: keep the demands and their statuses
        try:
            services.visit_record_amend(record=record, by=request.user,
                                        expected_version=expected, **kwargs)
        except services.StaleVersion:
            return _record_page(request, visit, record=record, values=values, status=409,
                                stale=True, record_version=expected)
        except ValidationError as error:
            errors = validation_messages(error)
        else:
            messages.success(request, _("记录已修改，原内容保留在修改历史中。"))
            return redirect("visits:record", pk=visit.pk)
    return _record_page(request, visit, record=record, values=values, errors=errors,
                        status=400, record_version=expected)


@require_POST
def visit_record_draft(request, pk: int):
    """Save the record form as typed (JSON `{"data": {...}}` from record.js, or a form POST)."""
    visit = permissions.get_visit_for_record(request.user, pk)
    as_json = request.content_type == "application/json"
    if as_json:
        try:
            payload = json.loads(request.body or b"{}")
        except ValueError:
            return JsonResponse({"detail": _("草稿格式不正确。")}, status=400)
        data = payload.get("data") if isinstance(payload, dict) else None
    else:
        data = vforms.draft_values(request.POST)
    try:
        draft = services.visit_record_draft_save(visit=visit, user=request.user, data=data or {})
    except ValidationError as error:
        errors = validation_messages(error)
        if not as_json:
            messages.error(request, next(iter(errors.values()))[0])
            return redirect("visits:record", pk=visit.pk)
        return JsonResponse({"detail": next(iter(errors.values()))[0], "errors": errors},
                            status=422)
    if not as_json:  # the "保存草稿" button without JS
        messages.success(request, _("草稿已保存。"))
        return redirect("visits:record", pk=visit.pk)
    return JsonResponse({"saved_at": draft.saved_at.isoformat()})



# --- preparation (家访准备, R11, R23.1) -------------------------------------------------------

def _preparation_state(user, visit: Visit) -> str | None:
    """For the visit page's link: None when the user may not read the preparation, else
    "prepared" (notes saved) or "empty"."""
    from jiafang.visits.models import VisitPreparation

    if not permissions.can_read_preparation(user, visit):
        return None
    return "prepared" if VisitPreparation.objects.filter(visit=visit).exists() else "empty"


def _preparation_page(request, visit: Visit, *, form=None, status: int = 200,
                      stale: bool = False):
    can_write = permissions.can_write_preparation(request.user, visit)
    profile = selectors.preparation_profile(request.user, visit, all_children=can_write)
    notes = profile.preparation
    labels = services.preparation_labels()
    if form is None and can_write and visit.status in services.OPEN_STATES:
        if notes is not None:
            initial = {"version": notes.version, **{n: getattr(notes, n) for n in labels}}
        else:
            initial = {"version": 0, **selectors.preparation_suggestion(profile)}
        form = vforms.PreparationForm(initial=initial)
    return render(request, "visits/visit_prepare.html", {
        "visit": visit, "profile": profile, "notes": notes, "form": form, "stale": stale,
        "can_write": can_write,
        "note_rows": [(label, getattr(notes, name)) for name, label in labels.items()]
        if notes is not None else [],
    }, status=status)


@require_http_methods(["GET", "POST"])
def visit_prepare(request, pk: int):
    """GET: the prepared profile of the family and the notes (R11, R23.1). POST (lead and
    companions): save the notes with the version the form carried; a stale version is told
    (409) with the other person's notes shown, nothing overwritten, the typed text kept."""
    if request.method == "GET":
        visit = permissions.get_visit_for_preparation(request.user, pk)
        return _preparation_page(request, visit)
    visit = permissions.get_visit_for_preparation(request.user, pk, write=True)
    form = vforms.PreparationForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.visit_preparation_save(
                visit=visit, by=request.user, topics=data["topics"],
                strengths_to_praise=data["strengths_to_praise"], concerns=data["concerns"],
                expected_version=data["version"])
        except services.StaleVersion as error:
            typed = request.POST.copy()
            typed["version"] = str(error.current_version)  # saving again replaces, knowingly
            return _preparation_page(request, visit, form=vforms.PreparationForm(typed),
                                     status=409, stale=True)
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            messages.success(request, _("家访准备已保存。"))
            return redirect("visits:prepare", pk=visit.pk)
    return _preparation_page(request, visit, form=form, status=400)
