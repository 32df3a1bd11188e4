"""Forms of the parent's page. They only parse what the parent typed; the rules live in
`timetable.services` (its ValidationError keys are shown next to the fields)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.utils.translation import gettext_lazy as _lazy

from jiafang.timetable.services import NOTE_MAX_CHARS
from jiafang.visits.defaults import LOCAL_TZ


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class LocalDateTimeField(forms.DateTimeField):
    """A phone's date-and-time picker, read as Asia/Shanghai local time."""

    widget = LocalDateTimeInput

    def __init__(self, **kwargs):
        super().__init__(input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"], **kwargs)

    def to_python(self, value):
        result = super().to_python(value)
        if result is not None:
            result = result.replace(tzinfo=None) if result.tzinfo else result
            result = dt.datetime.combine(result.date(), result.time(), tzinfo=LOCAL_TZ)
        return result


class ConfirmForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)


class ChangeRequestForm(forms.Form):
    note = forms.CharField(
        label=_lazy("希望改到什么时候，或不方便的原因"), max_length=NOTE_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3}))
    preferred_1 = LocalDateTimeField(label=_lazy("方便的时间（可选）"), required=False)
    preferred_2 = LocalDateTimeField(label=_lazy("另一个方便的时间（可选）"), required=False)

    def preferred(self) -> list[dt.datetime]:
        return [t for t in (self.cleaned_data.get("preferred_1"),
                            self.cleaned_data.get("preferred_2")) if t is not None]
