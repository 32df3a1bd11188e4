"""Forms of the task map page. They only parse what the coordinator typed; the rules live in
`taskmap.services` (its ValidationError keys are shown next to the fields)."""

from __future__ import annotations

from django import forms
from django.http import Http404
from django.utils.translation import gettext_lazy as _lazy

from jiafang.schools import scoping
from jiafang.visits.forms import UserChoiceField

AUTO = ""
NO_COMPANION = "none"
MAX_FAMILIES = 2000  # checked at once


class ReassignForm(forms.Form):
    """家庭 checkboxes (name "family") are read from the list; the target teacher here."""

    lead = UserChoiceField(label=_lazy("调整给"), queryset=None,
                           empty_label=_lazy("请选择教师"))
    companion = forms.ChoiceField(label=_lazy("同行教师"), required=False)

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.staff = list(staff)
        self.fields["lead"].queryset = staff
        self.fields["companion"].choices = [
            (AUTO, _lazy("自动推荐（本班学科教师，任务最少者）")),
            (NO_COMPANION, _lazy("不安排同行教师")),
            *((str(u.pk), u.display_name) for u in self.staff)]

    def companions(self):
        """None: suggest one; []: none; [user]: that teacher."""
        value = self.cleaned_data.get("companion") or AUTO
        if value == AUTO:
            return None
        if value == NO_COMPANION:
            return []
        return [u for u in self.staff if str(u.pk) == value]


class LoadForm(forms.Form):
    user = UserChoiceField(label=_lazy("教师"), queryset=None, empty_label=_lazy("请选择教师"))
    max_families = forms.IntegerField(label=_lazy("最多主访家庭数"), required=False, min_value=0,
                                      max_value=500, help_text=_lazy("留空表示不限"))
    share = forms.IntegerField(label=_lazy("同行任务份额（%）"), min_value=0, max_value=100,
                               initial=50)
    reason = forms.CharField(label=_lazy("减负原因"), max_length=200, required=False)

    def __init__(self, *args, staff, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = staff


def family_ids(data) -> list[int]:
    """The checked families (ignoring anything that is not a number)."""
    result = []
    for value in data.getlist("family")[:MAX_FAMILIES]:
        try:
            result.append(scoping.id_or_404(value))
        except Http404:
            continue
    return result
