"""Forms of the visit pages. They only parse what the user typed; every rule lives in
`visits.services` (its ValidationError keys are shown next to the fields)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from jiafang.campaigns.defaults import VisitForm
from jiafang.campaigns.selectors import record_form_fields
from jiafang.visits.defaults import (
    DEFAULT_DURATION_MINUTES,
    INTO_FAMILY,
    LOCAL_TZ,
    MAX_DURATION_MINUTES,
    MIN_DURATION_MINUTES,
    VISIT_CONTENTS,
)
from jiafang.visits.services import CHILD_PARTS, parent_demands_split


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


def local_datetime(day: dt.date, time: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=LOCAL_TZ)


class UserChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.display_name


class UserMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.display_name


class ScheduleForm(forms.Form):
    date = forms.DateField(label=_lazy("日期"), widget=DateInput())
    time = forms.TimeField(label=_lazy("时间"), widget=TimeInput())
    duration_minutes = forms.IntegerField(
        label=_lazy("预计时长（分钟）"), initial=DEFAULT_DURATION_MINUTES,
        min_value=MIN_DURATION_MINUTES, max_value=MAX_DURATION_MINUTES)
    lead = UserChoiceField(label=_lazy("家访教师"), queryset=None, empty_label=None)
    companions = UserMultipleChoiceField(label=_lazy("同行教师"), queryset=None, required=False,
                                         widget=forms.CheckboxSelectMultiple)
    form = forms.ChoiceField(label=_lazy("家访形式"), choices=VisitForm.choices,
                             initial=VisitForm.IN_PERSON)

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["lead"].queryset = staff
        self.fields["companions"].queryset = staff

    def scheduled_at(self) -> dt.datetime:
        return local_datetime(self.cleaned_data["date"], self.cleaned_data["time"])


class VersionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class ReasonForm(VersionForm):
    reason = forms.CharField(label=_lazy("原因"), max_length=200)


class RescheduleForm(VersionForm):
    date = forms.DateField(label=_lazy("新日期"), widget=DateInput())
    time = forms.TimeField(label=_lazy("新时间"), widget=TimeInput())
    duration_minutes = forms.IntegerField(label=_lazy("预计时长（分钟）"), required=False,
                                          min_value=MIN_DURATION_MINUTES,
                                          max_value=MAX_DURATION_MINUTES)

    def scheduled_at(self) -> dt.datetime:
        return local_datetime(self.cleaned_data["date"], self.cleaned_data["time"])


# --- the record form (rendered from the campaign's record_form_fields) ------------------------

READONLY_KEYS = {"school", "teacher", "school_class", "student", "guardian", "companions"}


def _one(data, name: str) -> str:
    value = data.get(name, "")
    if isinstance(value, list):
        value = value[-1] if value else ""
    return str(value)


def _many(data, name: str) -> list[str]:
    if hasattr(data, "getlist"):
        return data.getlist(name)
    value = data.get(name, [])
    return [str(v) for v in value] if isinstance(value, list) else ([str(value)] if value else [])


def record_values(record, visit) -> dict:
    """The form's field values from a stored record (the amend form) or, without a record, the
    defaults known from the visit (time and form of the appointment)."""
    if record is None:
        when = timezone.localtime(visit.scheduled_at, LOCAL_TZ) if visit.scheduled_at else None
        return {"visited_date": when.strftime("%Y-%m-%d") if when else "",
                "visited_time": when.strftime("%H:%M") if when else "", "form": visit.form}
    when = timezone.localtime(record.visited_at, LOCAL_TZ)
    values = {"visited_date": when.strftime("%Y-%m-%d"), "visited_time": when.strftime("%H:%M"),
              "form": record.form, "preparation": record.preparation,
              "process": record.process, "parent_demands": record.parent_demands_text,
              "contents": list(record.contents), "into_family": list(record.into_family),
              "follow_up": record.follow_up, "no_gifts": "on" if record.no_gifts_affirmed else ""}
    for key, value in record.extra.items():
        values[f"extra.{key}"] = ("yes" if value else "no") if isinstance(value, bool) else value
    for child in record.children.all():
        for part in CHILD_PARTS:
            values[f"child.{child.student_id}.{part}"] = getattr(child, part)
    return values


def draft_values(data) -> dict:
    """What a POST (or a saved draft) holds, as the form's values (typed input is kept)."""
    values = {}
    for name in data:
        if name in ("csrfmiddlewaretoken", "record_version"):
            continue
        values[name] = _many(data, name) if name in ("contents", "into_family") else _one(data,
                                                                                          name)
    return values


def parse_record(data, *, campaign, child_ids) -> tuple[dict, dict[str, list[str]]]:
    """The keyword arguments of `visit_record_submit` from the posted form, and the errors of
    what could not even be parsed (the date). Everything else is the service's to judge."""
    errors: dict[str, list[str]] = {}
    visited_at = None
    try:
        day = dt.date.fromisoformat(_one(data, "visited_date"))
        time = dt.time.fromisoformat(_one(data, "visited_time"))
        visited_at = local_datetime(day, time)
    except ValueError:
        errors["visited_at"] = [_("请填写家访日期和时间。")]
    extra = {}
    for f in record_form_fields(campaign):
        if f.fixed:
            continue
        raw = _one(data, f"extra.{f.key}").strip()
        if f.kind == "yes_no":
            extra[f.key] = {"yes": True, "no": False}.get(raw)
        else:
            extra[f.key] = raw
    children = {pk: {part: _one(data, f"child.{pk}.{part}") for part in CHILD_PARTS}
                for pk in child_ids}
    kwargs = {
        "visited_at": visited_at, "form": _one(data, "form"),
        "preparation": _one(data, "preparation"), "process": _one(data, "process"),
        "parent_demands": [(text, None) for text in
                           parent_demands_split(_one(data, "parent_demands"))],
        "contents": _many(data, "contents"), "into_family": _many(data, "into_family"),
        "children": children, "follow_up": _one(data, "follow_up"), "extra": extra,
        "no_gifts_affirmed": _one(data, "no_gifts") == "on",
    }
    return kwargs, errors


def record_form_context(*, visit, campaign, children, companions, values: dict,
                        errors: dict[str, list[str]]) -> dict:
    """Rows to render the record form: the campaign's fields in order (fixed ones pre-filled,
    the six known from the visit read-only), then the contents, the children and the rest."""
    family = visit.family
    guardians = "、".join(g.name for g in family.guardians.all())
    readonly = {
        "school": visit.school.name if hasattr(visit, "school") else "",
        "teacher": visit.lead.display_name,
        "school_class": "、".join(sorted({s.school_class.name for s in children})),
        "student": "、".join(s.name for s in children),
        "guardian": guardians,
        "companions": "、".join(u.display_name for u in companions) or _("无"),
    }
    rows = []
    for f in record_form_fields(campaign):
        row = {"key": f.key, "label": f.label, "kind": f.kind, "required": f.required,
               "fixed": f.fixed, "choices": f.choices}
        if f.fixed and f.key in READONLY_KEYS:
            row.update(kind="readonly", value=readonly[f.key])
        elif f.key == "visited_at":
            row.update(date=values.get("visited_date", ""), time=values.get("visited_time", ""),
                       errors=errors.get("visited_at", []))
        elif f.key == "visit_form":
            row.update(kind="visit_form", name="form", value=values.get("form", ""),
                       choices=VisitForm.choices, errors=errors.get("form", []))
        elif f.fixed:
            row.update(name=f.key, value=values.get(f.key, ""), errors=errors.get(f.key, []))
        else:
            name = f"extra.{f.key}"
            row.update(name=name, value=values.get(name, ""), errors=errors.get(name, []))
        rows.append(row)
    chosen_contents = set(values.get("contents", []))
    chosen_into = set(values.get("into_family", []))
    return {
        "rows": rows,
        "contents": [(code, label, text, code in chosen_contents)
                     for code, label, text in VISIT_CONTENTS],
        "contents_errors": errors.get("contents", []),
        "into_family": [(code, label, code in chosen_into) for code, label in INTO_FAMILY],
        "into_family_errors": errors.get("into_family", []),
        "child_rows": [{
            "student": s, "errors": errors.get(f"children.{s.pk}", []),
            "parts": [(part, label, f"child.{s.pk}.{part}",
                       values.get(f"child.{s.pk}.{part}", ""))
                      for part, label in (("strengths", _("优点")), ("shortcomings", _("不足")),
                                          ("methods", _("改进方法")))],
        } for s in children],
        "children_errors": errors.get("children", []),
        "follow_up": values.get("follow_up", ""), "follow_up_errors": errors.get("follow_up", []),
        "no_gifts": values.get("no_gifts") == "on",
        "no_gifts_errors": errors.get("no_gifts_affirmed", []),
        "other_errors": [m for k, ms in errors.items() if k in ("__all__", "status", "family",
                                                                  "extra", "changes")
                         for m in ms],
    }


# --- preparation notes (家访准备) ----------------------------------------------------------------

class PreparationForm(forms.Form):
    """The three parts of the notes (each optional; the service wants at least one) and the
    version the page showed (0 before the first save)."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)
    topics = forms.CharField(label=_lazy("沟通话题"), required=False, strip=False,
                             widget=forms.Textarea(attrs={"rows": 3}))
    strengths_to_praise = forms.CharField(label=_lazy("值得肯定的优点"), required=False,
                                          strip=False, widget=forms.Textarea(attrs={"rows": 3}))
    concerns = forms.CharField(label=_lazy("关注的问题及拟采取的方法"), required=False,
                               strip=False, widget=forms.Textarea(attrs={"rows": 3}))
