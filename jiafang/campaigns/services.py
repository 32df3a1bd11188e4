"""The functions that change campaigns and their record forms (one transaction each).

Callers (pages, API, demo) check who may change what through `campaigns.selectors`; these
functions validate the data and raise `ValidationError` with Chinese messages per field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from jiafang.accounts.models import User
from jiafang.campaigns.defaults import (
    FIXED_FIELDS,
    FIXED_KEYS,
    VisitForm,
    default_teaching_hours,
    teaching_periods_parse,
    teaching_periods_text,
)
from jiafang.campaigns.models import Campaign, CampaignField, CampaignSchool
from jiafang.campaigns.selectors import campaign_school_choices
from jiafang.schools.models import Bureau

MAX_PERIOD_DAYS = 366
SUMMARY_GRACE_DAYS = 92
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def _validate_campaign(*, bureau: Bureau, name: str, starts_on: dt.date, ends_on: dt.date,
                       plan_due_on: dt.date, summary_due_on: dt.date,
                       counting_forms: list[str], all_schools: bool,
                       school_ids: list[int], teaching_hours: dict | None = None) -> list[int]:
    """Every rule of a campaign's settings; returns the participating school ids."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    if not (name or "").strip():
        add("name", _("请填写活动名称。"))
    elif len(name.strip()) > 100:
        add("name", _("活动名称不能超过100个字。"))
    if ends_on <= starts_on:
        add("ends_on", _("结束日期必须晚于开始日期。"))
    elif (ends_on - starts_on).days > MAX_PERIOD_DAYS:
        add("ends_on", _("活动时间不能超过一年。"))
    if plan_due_on > ends_on:
        add("plan_due_on", _("方案报送截止日期不能晚于活动结束日期。"))
    elif plan_due_on < starts_on - dt.timedelta(days=MAX_PERIOD_DAYS):
        add("plan_due_on", _("方案报送截止日期离活动开始太远。"))
    if summary_due_on < plan_due_on:
        add("summary_due_on", _("总结报送截止日期不能早于方案报送截止日期。"))
    elif summary_due_on <= starts_on:
        add("summary_due_on", _("总结报送截止日期必须晚于活动开始日期。"))
    elif summary_due_on > ends_on + dt.timedelta(days=SUMMARY_GRACE_DAYS):
        add("summary_due_on", _("总结报送截止日期不能晚于活动结束后三个月。"))
    known = set(VisitForm.values)
    if not counting_forms:
        add("counting_forms", _("请至少选择一种计入覆盖率的家访形式。"))
    elif any(code not in known for code in counting_forms):
        add("counting_forms", _("未知的家访形式。"))
    if teaching_hours is not None and not _valid_teaching_hours(teaching_hours):
        add("teaching_hours", _("上课时间无效：上课日为周一至周日，时段如 08:00-11:40，开始早于结束。"))
    ids: list[int] = []
    if not all_schools:
        allowed = set(campaign_school_choices(bureau).values_list("pk", flat=True))
        ids = sorted(set(school_ids))
        if not ids:
            add("schools", _("请选择参加的学校，或选择全部学校参加。"))
        elif any(pk not in allowed for pk in ids):
            add("schools", _("只能选择本局（含下级）的学校。"))
    if errors:
        raise ValidationError(errors)
    return ids


def _valid_teaching_hours(hours) -> bool:
    if not isinstance(hours, dict) or set(hours) != {"weekdays", "periods"}:
        return False
    days, periods = hours["weekdays"], hours["periods"]
    if not isinstance(days, list) or any(type(d) is not int or not 0 <= d <= 6 for d in days):
        return False
    if not isinstance(periods, list):
        return False
    try:
        return teaching_periods_parse(teaching_periods_text(periods)) == periods
    except (TypeError, ValueError):
        return False


def _ordered_forms(counting_forms: Iterable[str]) -> list[str]:
    chosen = set(counting_forms)
    return [code for code in VisitForm.values if code in chosen] + sorted(
        chosen - set(VisitForm.values))


@transaction.atomic
def campaign_create(*, bureau: Bureau, by: User, name: str, starts_on: dt.date,
                    ends_on: dt.date, plan_due_on: dt.date, summary_due_on: dt.date,
                    counting_forms: Iterable[str], all_schools: bool = True,
                    school_ids: Iterable[int] = (),
                    teaching_hours: dict | None = None) -> Campaign:
    forms = _ordered_forms(counting_forms)
    hours = teaching_hours if teaching_hours is not None else default_teaching_hours()
    ids = _validate_campaign(bureau=bureau, name=name, starts_on=starts_on, ends_on=ends_on,
                             plan_due_on=plan_due_on, summary_due_on=summary_due_on,
                             counting_forms=forms, all_schools=all_schools,
                             school_ids=list(school_ids), teaching_hours=hours)
    campaign = Campaign.objects.create(
        bureau=bureau, name=name.strip(), starts_on=starts_on, ends_on=ends_on,
        plan_due_on=plan_due_on, summary_due_on=summary_due_on, counting_forms=forms,
        all_schools=all_schools, created_by=by, teaching_hours=hours)
    CampaignSchool.objects.bulk_create(
        [CampaignSchool(campaign=campaign, school_id=pk) for pk in ids])
    return campaign


_UPDATABLE = ("name", "starts_on", "ends_on", "plan_due_on", "summary_due_on", "counting_forms",
              "all_schools", "archived", "teaching_hours")


@transaction.atomic
def campaign_update(*, campaign: Campaign, by: User, school_ids: Iterable[int] | None = None,
                    **changes) -> Campaign:
    """Change some settings (the others stay); `school_ids=None` keeps the participants."""
    unknown = set(changes) - set(_UPDATABLE)
    if unknown:
        raise TypeError(f"campaign_update: unknown fields {sorted(unknown)}")
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    before = (campaign.starts_on, campaign.ends_on, list(campaign.counting_forms))
    values = {name: changes.get(name, getattr(campaign, name)) for name in _UPDATABLE}
    values["counting_forms"] = _ordered_forms(values["counting_forms"])
    if school_ids is None:
        school_ids = list(campaign.participations.values_list("school_id", flat=True))
    ids = _validate_campaign(bureau=campaign.bureau, school_ids=list(school_ids),
                             **{k: v for k, v in values.items() if k != "archived"})
    values["name"] = values["name"].strip()
    for name, value in values.items():
        setattr(campaign, name, value)
    campaign.save(update_fields=[*_UPDATABLE, "updated_at"])
    existing = set(campaign.participations.values_list("school_id", flat=True))
    if set(ids) != existing:
        campaign.participations.exclude(school_id__in=ids).delete()
        CampaignSchool.objects.bulk_create(
            [CampaignSchool(campaign=campaign, school_id=pk) for pk in set(ids) - existing])
    if before != (campaign.starts_on, campaign.ends_on, list(campaign.counting_forms)):
        # which records count depends on the forms and the period: coverage follows at once
        from jiafang.visits.services import campaign_visits_reevaluate  # visits builds on us

        campaign_visits_reevaluate(campaign=campaign)
    return campaign


# --- the record form's extra fields ---------------------------------------------------------

def _clean_field(*, campaign: Campaign, label: str, kind: str, choices: Iterable[str],
                 key: str = "", exclude_pk: int | None = None) -> tuple[str, list[str]]:
    errors: dict[str, list[str]] = {}
    label = (label or "").strip()
    cleaned = [c.strip() for c in choices if c and c.strip()]
    cleaned = list(dict.fromkeys(cleaned))
    others = CampaignField.objects.filter(campaign=campaign).exclude(pk=exclude_pk)
    if not label:
        errors["label"] = [_("请填写字段名称。")]
    elif len(label) > 40:
        errors["label"] = [_("字段名称不能超过40个字。")]
    elif label in {f.label for f in FIXED_FIELDS} or others.filter(label=label).exists():
        errors["label"] = [_("记录表中已有同名字段。")]
    if kind not in CampaignField.Kind.values:
        errors["kind"] = [_("未知的字段类型。")]
    elif kind == CampaignField.Kind.CHOICE and len(cleaned) < 2:
        errors["choices"] = [_("选项类字段至少需要两个选项（每行一个）。")]
    elif any(len(c) > 40 for c in cleaned):
        errors["choices"] = [_("每个选项不能超过40个字。")]
    if key and (not KEY_RE.match(key) or key in FIXED_KEYS or others.filter(key=key).exists()):
        errors["key"] = [_("代码须为小写字母开头的字母、数字或下划线，且不能与其他字段重复。")]
    if errors:
        raise ValidationError(errors)
    return label, cleaned if kind == CampaignField.Kind.CHOICE else []


@transaction.atomic
def campaign_field_add(*, campaign: Campaign, by: User, label: str, kind: str,
                       choices: Iterable[str] = (), required: bool = False,
                       key: str = "") -> CampaignField:
    Campaign.objects.select_for_update().filter(pk=campaign.pk).first()
    label, cleaned = _clean_field(campaign=campaign, label=label, kind=kind, choices=choices,
                                  key=key)
    fields = CampaignField.objects.filter(campaign=campaign)
    position = (fields.aggregate(m=Max("position"))["m"] or 0) + 1
    if not key:
        taken = set(fields.values_list("key", flat=True))
        number = position
        while f"extra_{number}" in taken:
            number += 1
        key = f"extra_{number}"
    return CampaignField.objects.create(campaign=campaign, key=key, label=label, kind=kind,
                                        choices=cleaned, required=required, position=position)


@transaction.atomic
def campaign_field_update(*, field: CampaignField, by: User, label: str,
                          choices: Iterable[str] = (), required: bool = False) -> CampaignField:
    """Label, choices and required may change; the key and kind stay (records refer to them)."""
    field = CampaignField.objects.select_for_update().get(pk=field.pk)
    label, cleaned = _clean_field(campaign=field.campaign, label=label, kind=field.kind,
                                  choices=choices, exclude_pk=field.pk)
    field.label, field.choices, field.required = label, cleaned, required
    field.save(update_fields=["label", "choices", "required"])
    return field


@transaction.atomic
def campaign_field_move(*, field: CampaignField, by: User, up: bool) -> None:
    """Swap the field with its neighbour above (up) or below; positions are renumbered 1..n."""
    Campaign.objects.select_for_update().filter(pk=field.campaign_id).first()
    fields = list(CampaignField.objects.filter(campaign_id=field.campaign_id)
                  .order_by("position", "pk"))
    index = next(i for i, f in enumerate(fields) if f.pk == field.pk)
    other = index - 1 if up else index + 1
    if 0 <= other < len(fields):
        fields[index], fields[other] = fields[other], fields[index]
    for position, f in enumerate(fields, start=1):
        f.position = position
    CampaignField.objects.bulk_update(fields, ["position"])


@transaction.atomic
def campaign_field_remove(*, field: CampaignField, by: User) -> None:
    """Remove an extra field while no visit record holds a value for it; once one does, the
    field stays (records, the ledger and the Word record show it) and can be made optional."""
    from jiafang.visits.models import VisitRecord  # visits builds on campaigns

    Campaign.objects.select_for_update().filter(pk=field.campaign_id).first()
    if VisitRecord.objects.filter(visit__campaign_id=field.campaign_id,
                                  extra__has_key=field.key).exists():
        raise ValidationError({"field": _("已有家访记录填写了该字段，不能删除；可改为非必填。")})
    CampaignField.objects.filter(pk=field.pk).delete()
