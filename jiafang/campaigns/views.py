"""Campaign pages. Thin: lookups through `campaigns.selectors`, changes through `services`."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiafang.campaigns import selectors, services
from jiafang.campaigns.defaults import campaign_defaults, default_teaching_hours
from jiafang.campaigns.forms import CampaignForm, FieldAddForm, FieldEditForm
from jiafang.campaigns.models import Campaign, CampaignField
from jiafang.core.errors import form_add_errors
from jiafang.schools.models import School
from jiafang.schools.scoping import access_for


def _apply_errors(form, error: ValidationError) -> None:
    form_add_errors(form, error, {"teaching_hours": "teaching_periods"})


@require_GET
def campaign_list(request):
    """Current campaign of each bureau first, then the history (R2)."""
    access = access_for(request.user)
    if access.is_empty and not access.bureau_ids:
        raise Http404
    listing = selectors.campaign_list(request.user)
    return render(request, "campaigns/campaign_list.html", {
        "current": listing.current, "history": listing.history,
        "can_create": bool(access.bureau_ids), "today": timezone.localdate(),
    })


def _schools_for_form(request):
    return School.objects.filter(pk__in=access_for(request.user).bureau_school_ids).order_by("code")


@require_http_methods(["GET", "POST"])
def campaign_create(request):
    bureaus = selectors.bureaus_for_create(request.user)
    kwargs = {"bureaus": bureaus, "schools": _schools_for_form(request)}
    if request.method == "POST":
        form = CampaignForm(request.POST, **kwargs)
        if form.is_valid():
            data = form.cleaned_data
            try:
                campaign = services.campaign_create(
                    bureau=data["bureau"], by=request.user, name=data["name"],
                    starts_on=data["starts_on"], ends_on=data["ends_on"],
                    plan_due_on=data["plan_due_on"], summary_due_on=data["summary_due_on"],
                    counting_forms=data["counting_forms"], all_schools=data["all_schools"],
                    school_ids=[s.pk for s in data["schools"]],
                    teaching_hours=form.teaching_hours())
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, _("已创建家访活动。"))
                return redirect("campaigns:detail", pk=campaign.pk)
        return render(request, "campaigns/campaign_form.html", {"form": form}, status=400)
    initial = {**campaign_defaults(timezone.localdate()), "all_schools": True,
               "bureau": bureaus.first(),
               **CampaignForm.initial_teaching_hours(default_teaching_hours())}
    return render(request, "campaigns/campaign_form.html",
                  {"form": CampaignForm(initial=initial, **kwargs)})


@require_GET
def campaign_detail(request, pk: int):
    campaign = selectors.get_campaign_for_user(request.user, pk)
    return _render_detail(request, campaign)


def _render_detail(request, campaign: Campaign, *, field_form=None, status: int = 200):
    today = timezone.localdate()
    schools, others = selectors.participating_schools(request.user, campaign)
    fields = selectors.record_form_fields(campaign)
    can_change = selectors.can_change_campaign(request.user, campaign)
    return render(request, "campaigns/campaign_detail.html", {
        "campaign": campaign, "fields": fields, "extra_count": sum(not f.fixed for f in fields),
        "schools": schools, "other_school_count": others, "can_change": can_change,
        "field_form": field_form or FieldAddForm(), "today": today,
        "plan_days_left": selectors.days_left(campaign.plan_due_on, today),
        "summary_days_left": selectors.days_left(campaign.summary_due_on, today),
        "end_days_left": selectors.days_left(campaign.ends_on, today),
        "not_started": campaign.starts_on > today,
    }, status=status)


@require_http_methods(["GET", "POST"])
def campaign_edit(request, pk: int):
    campaign = selectors.get_campaign_for_change(request.user, pk)
    kwargs = {"bureaus": None, "schools": selectors.campaign_school_choices(campaign.bureau),
              "editing": True}
    if request.method == "POST":
        form = CampaignForm(request.POST, **kwargs)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.campaign_update(
                    campaign=campaign, by=request.user, name=data["name"],
                    starts_on=data["starts_on"], ends_on=data["ends_on"],
                    plan_due_on=data["plan_due_on"], summary_due_on=data["summary_due_on"],
                    counting_forms=data["counting_forms"], all_schools=data["all_schools"],
                    archived=data["archived"], school_ids=[s.pk for s in data["schools"]],
                    teaching_hours=form.teaching_hours())
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, _("已保存。"))
                return redirect("campaigns:detail", pk=campaign.pk)
        return render(request, "campaigns/campaign_form.html",
                      {"form": form, "campaign": campaign}, status=400)
    initial = {name: getattr(campaign, name) for name in (
        "name", "starts_on", "ends_on", "plan_due_on", "summary_due_on", "counting_forms",
        "all_schools", "archived")}
    initial["schools"] = list(campaign.participations.values_list("school_id", flat=True))
    initial.update(CampaignForm.initial_teaching_hours(
        campaign.teaching_hours or default_teaching_hours()))
    return render(request, "campaigns/campaign_form.html",
                  {"form": CampaignForm(initial=initial, **kwargs), "campaign": campaign})


# --- the record form's extra fields -----------------------------------------------------------

def _field_for_change(request, pk: int, field_pk: int) -> tuple[Campaign, CampaignField]:
    campaign = selectors.get_campaign_for_change(request.user, pk)
    field = CampaignField.objects.filter(campaign=campaign, pk=field_pk).first()
    if field is None:
        raise Http404
    return campaign, field


@require_POST
def field_add(request, pk: int):
    campaign = selectors.get_campaign_for_change(request.user, pk)
    form = FieldAddForm(request.POST)
    if form.is_valid():
        try:
            services.campaign_field_add(
                campaign=campaign, by=request.user, label=form.cleaned_data["label"],
                kind=form.cleaned_data["kind"], choices=form.choice_list(),
                required=form.cleaned_data["required"])
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("已添加字段。"))
            return redirect("campaigns:detail", pk=campaign.pk)
    return _render_detail(request, campaign, field_form=form, status=400)


@require_http_methods(["GET", "POST"])
def field_edit(request, pk: int, field_pk: int):
    campaign, field = _field_for_change(request, pk, field_pk)
    if request.method == "POST":
        form = FieldEditForm(request.POST)
        if form.is_valid():
            try:
                services.campaign_field_update(
                    field=field, by=request.user, label=form.cleaned_data["label"],
                    choices=form.choice_list(), required=form.cleaned_data["required"])
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                messages.success(request, _("已保存字段。"))
                return redirect("campaigns:detail", pk=campaign.pk)
        status = 400
    else:
        form = FieldEditForm(initial={"label": field.label, "required": field.required,
                                      "choices": "\n".join(field.choices or [])})
        status = 200
    return render(request, "campaigns/field_form.html",
                  {"form": form, "campaign": campaign, "field": field}, status=status)


@require_POST
def field_move(request, pk: int, field_pk: int):
    campaign, field = _field_for_change(request, pk, field_pk)
    services.campaign_field_move(field=field, by=request.user,
                                 up=request.POST.get("direction") != "down")
    return redirect("campaigns:detail", pk=campaign.pk)


@require_POST
def field_remove(request, pk: int, field_pk: int):
    campaign, field = _field_for_change(request, pk, field_pk)
    try:
        services.campaign_field_remove(field=field, by=request.user)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("已删除字段“%(label)s”。") % {"label": field.label})
    return redirect("campaigns:detail", pk=campaign.pk)
