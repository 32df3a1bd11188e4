from django import forms
from django.utils.translation import gettext_lazy as _

from jiafang.schools.models import FocusCategory


class FocusFlagForm(forms.Form):
    category = forms.ModelChoiceField(label=_("关注类别"),
                                      queryset=FocusCategory.objects.filter(active=True))
    reason = forms.CharField(label=_("原因"), max_length=200, required=False)


class FocusClearForm(forms.Form):
    reason = forms.CharField(label=_("取消原因"), max_length=200)
