"""Campaigns (大家访活动, R2) and the extra fields of their record form (附件2, R24).

A campaign is bureau-level data, not school-owned: it is read through
`campaigns.selectors.campaigns_for_user`, which starts from the scoping layer.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from jiafang.campaigns.defaults import (
    VisitForm,
    default_counting_forms,
    default_teaching_hours,
    teaching_hours_text,
)


class Campaign(models.Model):
    bureau = models.ForeignKey("schools.Bureau", verbose_name=_("教育局"), on_delete=models.PROTECT,
                               related_name="campaigns")
    name = models.CharField(_("活动名称"), max_length=100)
    starts_on = models.DateField(_("开始日期"))
    ends_on = models.DateField(_("结束日期"))
    plan_due_on = models.DateField(_("方案报送截止"))
    summary_due_on = models.DateField(_("总结报送截止"))
    counting_forms = models.JSONField(_("计入覆盖率的家访形式"), default=default_counting_forms)
    all_schools = models.BooleanField(_("全部学校参加"), default=True)
    # {"weekdays": [0..6], "periods": [["08:00", "11:40"], ...]}: visits overlapping them are
    # warned about ("利用课余时间", R8); the notice's default, changed per campaign by the bureau
    teaching_hours = models.JSONField(_("上课时间"), default=default_teaching_hours)
    schools = models.ManyToManyField("schools.School", through="CampaignSchool", blank=True,
                                     related_name="+")
    archived = models.BooleanField(_("已归档"), default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("家访活动")
        ordering = ["-starts_on", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_on__gt=models.F("starts_on")),
                                   name="campaign_ends_after_start"),
        ]
        indexes = [models.Index(fields=["bureau", "starts_on"], name="campaign_bureau_start")]

    def __str__(self) -> str:
        return self.name

    @property
    def counting_form_labels(self) -> list[str]:
        labels = dict(VisitForm.choices)
        return [str(labels.get(code, code)) for code in self.counting_forms]

    @property
    def teaching_hours_text(self) -> str:
        return teaching_hours_text(self.teaching_hours or {})


class CampaignSchool(models.Model):
    """A participating school when the campaign is not for all schools of the bureau."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="participations")
    school = models.ForeignKey("schools.School", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "school"],
                                               name="campaign_school_unique")]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.school_id}"


class CampaignField(models.Model):
    """A field the bureau adds to its campaign's record form (e.g. 家访反思, 跟进措施)."""

    class Kind(models.TextChoices):
        TEXT = "text", _("文字")
        CHOICE = "choice", _("选项")
        YES_NO = "yes_no", _("是/否")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="extra_fields")
    key = models.SlugField(_("代码"), max_length=40)
    label = models.CharField(_("名称"), max_length=40)
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices, default=Kind.TEXT)
    choices = models.JSONField(_("选项"), default=list, blank=True)
    required = models.BooleanField(_("必填"), default=False)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("记录表字段")
        ordering = ["campaign_id", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "key"], name="campaign_field_key_unique"),
        ]

    def __str__(self) -> str:
        return self.label
