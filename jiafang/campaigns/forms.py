from django import forms
from django.utils.translation import gettext_lazy as _

from jiafang.campaigns.defaults import (
    WEEKDAY_NAMES,
    VisitForm,
    teaching_periods_parse,
    teaching_periods_text,
)
from jiafang.campaigns.models import CampaignField


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class CampaignForm(forms.Form):
    bureau = forms.ModelChoiceField(label=_("教育局"), queryset=None, empty_label=None)
    name = forms.CharField(label=_("活动名称"), max_length=100)
    starts_on = forms.DateField(label=_("开始日期"), widget=DateInput())
    ends_on = forms.DateField(label=_("结束日期"), widget=DateInput())
    plan_due_on = forms.DateField(label=_("方案报送截止"), widget=DateInput())
    summary_due_on = forms.DateField(label=_("总结报送截止"), widget=DateInput())
    counting_forms = forms.MultipleChoiceField(
        label=_("计入覆盖率的家访形式"), choices=VisitForm.choices,
        widget=forms.CheckboxSelectMultiple, required=False)
    all_schools = forms.BooleanField(label=_("本局全部学校参加"), required=False)
    schools = forms.ModelMultipleChoiceField(
        label=_("参加学校"), queryset=None, required=False, widget=forms.CheckboxSelectMultiple)
    teaching_days = forms.TypedMultipleChoiceField(
        label=_("上课日"), choices=list(enumerate(WEEKDAY_NAMES)), coerce=int, required=False,
        widget=forms.CheckboxSelectMultiple)
    teaching_periods = forms.CharField(
        label=_("上课时段"), max_length=200, required=False,
        help_text=_("如 08:00-11:40, 13:30-16:30；与上课时间重叠的家访会被提醒（利用课余时间）。"))
    archived = forms.BooleanField(label=_("归档（不再作为当前活动）"), required=False)

    def __init__(self, *args, bureaus, schools, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bureau"].queryset = bureaus
        self.fields["schools"].queryset = schools
        if editing:
            del self.fields["bureau"]
        else:
            del self.fields["archived"]

    @staticmethod
    def initial_teaching_hours(hours: dict) -> dict:
        return {"teaching_days": hours["weekdays"],
                "teaching_periods": teaching_periods_text(hours["periods"])}

    def clean_teaching_periods(self) -> list[list[str]]:
        try:
            return teaching_periods_parse(self.cleaned_data.get("teaching_periods", ""))
        except ValueError as error:
            raise forms.ValidationError(str(error)) from None

    def teaching_hours(self) -> dict:
        return {"weekdays": sorted(set(self.cleaned_data["teaching_days"])),
                "periods": self.cleaned_data["teaching_periods"]}


class FieldAddForm(forms.Form):
    label = forms.CharField(label=_("字段名称"), max_length=40)
    kind = forms.ChoiceField(label=_("类型"), choices=CampaignField.Kind.choices)
    choices = forms.CharField(label=_("选项（每行一个，仅选项类字段）"), required=False,
                              widget=forms.Textarea(attrs={"rows": 3}))
    required = forms.BooleanField(label=_("必填"), required=False)

    def choice_list(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data.get("choices", "").splitlines()
                if line.strip()]


class FieldEditForm(FieldAddForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["kind"]
