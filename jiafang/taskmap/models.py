"""The task map (任务图, R8, R10, R18): who visits which family in a campaign, and the lighter
loads of teachers with special difficulties.

Every row carries its school (the tenant key) and is read through a django-scopes
`ScopedManager`. Rows are written only by `taskmap.services`: the product drafts them
(`taskmap_draft`), the school's coordinator adjusts them (`taskmap_reassign`, which marks a row
`manual` so a later draft leaves it alone) and sets lighter loads (`teacher_load_set`).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager


class TaskAssignment(models.Model):
    """One family's visiting teachers in one campaign: the lead (主访教师) and companions
    (同行教师). `lead` is empty when no class of the family's children has a head teacher."""

    school = models.ForeignKey("schools.School", verbose_name=_("学校"), on_delete=models.PROTECT,
                               related_name="+")
    campaign = models.ForeignKey("campaigns.Campaign", verbose_name=_("家访活动"),
                                 on_delete=models.CASCADE, related_name="+")
    family = models.ForeignKey("schools.Family", verbose_name=_("家庭"), on_delete=models.CASCADE,
                               related_name="task_assignments")
    lead = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("主访教师"), null=True,
                             blank=True, on_delete=models.PROTECT, related_name="+")
    companions = models.ManyToManyField(settings.AUTH_USER_MODEL, through="TaskCompanion",
                                        related_name="+", blank=True)
    manual = models.BooleanField(_("手动调整"), default=False)
    over_cap = models.BooleanField(_("超出减负上限"), default=False)
    version = models.PositiveIntegerField(default=1)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(school="school")

    class Meta:
        verbose_name = _("家访任务")
        ordering = ["campaign_id", "family_id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "family"],
                                               name="task_assignment_unique")]
        indexes = [
            models.Index(fields=["campaign", "school"], name="task_campaign_school"),
            models.Index(fields=["lead", "campaign"], name="task_lead_campaign"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.family_id}→{self.lead_id}"


class TaskCompanion(models.Model):
    """同行教师 of a task assignment."""

    school = models.ForeignKey("schools.School", on_delete=models.PROTECT, related_name="+")
    assignment = models.ForeignKey(TaskAssignment, on_delete=models.CASCADE,
                                   related_name="task_companions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    objects = ScopedManager(school="school")

    class Meta:
        verbose_name = _("同行教师")
        ordering = ["assignment_id", "pk"]
        constraints = [models.UniqueConstraint(fields=["assignment", "user"],
                                               name="task_companion_unique")]
        indexes = [models.Index(fields=["user", "assignment"], name="task_companion_user")]

    def __str__(self) -> str:
        return f"{self.assignment_id}:{self.user_id}"


class TeacherLoad(models.Model):
    """A lighter load for a teacher with special difficulties (R18 照顾有特殊困难的教师), set by
    the coordinator for one campaign: at most `max_families` families to lead (empty: no cap)
    and `share` percent of a normal companion load (0: never suggested as a companion)."""

    school = models.ForeignKey("schools.School", on_delete=models.PROTECT, related_name="+")
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("教师"),
                             on_delete=models.CASCADE, related_name="+")
    max_families = models.PositiveSmallIntegerField(_("最多主访家庭数"), null=True, blank=True)
    share = models.PositiveSmallIntegerField(_("同行任务份额（%）"), default=100)
    reason = models.CharField(_("减负原因"), max_length=200, blank=True, default="")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(school="school")

    class Meta:
        verbose_name = _("教师减负")
        ordering = ["campaign_id", "school_id", "user_id"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "school", "user"],
                                    name="teacher_load_unique"),
            models.CheckConstraint(condition=Q(share__lte=100), name="teacher_load_share_range"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.max_families}/{self.share}%"
