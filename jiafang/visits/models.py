"""Home visits (家访): the appointment, its history, the record (附件2), parent demands and the
per-student status and per-school figures that coverage is read from (R3–R6, R9, R12, R17, R23).

Every row carries its school (the tenant key) and is read through a django-scopes
`ScopedManager`. Rows are written only by `visits.services` (and a parent's request for another
time, a `VisitEvent`, by `timetable.services`); the status and figures tables are derived data
that those services keep current in the same transaction.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from jiafang.campaigns.defaults import VisitForm
from jiafang.visits.defaults import DEFAULT_DURATION_MINUTES


class Visit(models.Model):
    """One appointment of a lead teacher (and companions) with one family in one campaign.

    State machine: proposed → confirmed → done; proposed/confirmed → declined (by the family,
    with a reason) or cancelled (with a reason); a reschedule is an event that moves the visit
    back to proposed with the new time. done, declined and cancelled are final."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("待确认")
        CONFIRMED = "confirmed", _("已确认")
        DONE = "done", _("已家访")
        DECLINED = "declined", _("家长婉拒")
        CANCELLED = "cancelled", _("已取消")

    school = models.ForeignKey("schools.School", verbose_name=_("学校"), on_delete=models.PROTECT,
                               related_name="+")
    campaign = models.ForeignKey("campaigns.Campaign", verbose_name=_("家访活动"),
                                 on_delete=models.PROTECT, related_name="visits")
    family = models.ForeignKey("schools.Family", verbose_name=_("家庭"), on_delete=models.PROTECT,
                               related_name="visits")
    lead = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("家访教师"),
                             on_delete=models.PROTECT, related_name="visits_led")
    form = models.CharField(_("家访形式"), max_length=16, choices=VisitForm.choices,
                            default=VisitForm.IN_PERSON)
    scheduled_at = models.DateTimeField(_("预约时间"), null=True, blank=True)
    duration_minutes = models.PositiveSmallIntegerField(_("预计时长（分钟）"),
                                                        default=DEFAULT_DURATION_MINUTES)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices,
                              default=Status.PROPOSED)
    status_reason = models.CharField(_("原因"), max_length=200, blank=True, default="")
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(school="school")

    class Meta:
        verbose_name = _("家访")
        ordering = ["scheduled_at", "pk"]
        indexes = [
            models.Index(fields=["campaign", "school", "status"], name="visit_campaign_school"),
            models.Index(fields=["family", "campaign"], name="visit_family_campaign"),
            models.Index(fields=["lead", "scheduled_at"], name="visit_lead_time"),
        ]

    def __str__(self) -> str:
        return f"{self.family_id}@{self.scheduled_at}"


class VisitCompanion(models.Model):
    """同行教师: a teacher going along with the lead."""

    school = models.ForeignKey("schools.School", on_delete=models.PROTECT, related_name="+")
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="companions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT,
                             related_name="visits_joined")

    objects = ScopedManager(school="school")

    class Meta:
        verbose_name = _("同行教师")
        ordering = ["visit_id", "pk"]
        constraints = [models.UniqueConstraint(fields=["visit", "user"],
                                               name="visit_companion_unique")]

    def __str__(self) -> str:
        return f"{self.visit_id}:{self.user_id}"


class VisitEvent(models.Model):
    """The visit's history: one row per state change (by is empty for the parent link)."""

    class Kind(models.TextChoices):
        SCHEDULED = "scheduled", _("预约")
        CONFIRMED = "confirmed", _("确认")
        RESCHEDULED = "rescheduled", _("改期")
        DECLINED = "declined", _("家长婉拒")
        CANCELLED = "cancelled", _("取消")
        RECORDED = "recorded", _("提交记录")
        AMENDED = "amended", _("修改记录")
        CHANGE_REQUESTED = "change_requested", _("家长希望改时间")
        PREPARED = "prepared", _("家访准备")

    school = models.ForeignKey("schools.School", on_delete=models.PROTECT, related_name="+")
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("事件"), max_length=16, choices=Kind.choices)
    at = models.DateTimeField(_("时间"))
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                           on_delete=models.SET_NULL, related_name="+")
    data = models.JSONField(default=dict, blank=True)

    objects = ScopedManager(school="school")

    class Meta:
        verbose_name = _("家访事件")
        ordering = ["visit_id", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.visit_id}:{self.kind}"


class VisitRecord(models.Model):
    """家访记录 (附件2): one per visit, written after it. `counts` says whether it counts toward
    coverage (a counting form of the campaign, inside the campaign period)."""

    school = models.ForeignKey("schools.School", on_delete=models.PROTECT, related_name="+")
    visit = models.OneToOneField(Visit, on_delete=models.PROTECT, related_name="record")
    visited_at = models.DateTimeField(_("家访时间"))
    form = models.CharField(_("家访形式"), max_length=16, choices=VisitForm.choices)
    preparation = models.TextField(_("家访准备"))
    process = models.TextField(_("家访过程"))
    parent_demands_text = models.TextField(_("家长诉求"), blank=True, default="")
    contents = models.JSONField(_("家访内容"), default=list, blank=True)  # codes of VISIT_CONTENTS
    into_family = models.JSONField(_("四进家庭"), default=list, blank=True)  # INTO_FAMILY codes
    follow_up = models.TextField(_("跟进措施"), blank=True, default="")
    extra = models.JSONField(_("其他字段"), default=dict, blank=True)  # {CampaignField.key: value}
    no_gifts_affirmed = models.BooleanField(_("未接受宴请和礼品"), default=False)
    counts = models.BooleanField(_("计入覆盖率"), default=False)
    submitted_at = models.DateTimeField(_("提交时间"))
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                     on_delete=models.SET_NULL, related_name="+")
    version = models.PositiveIntegerField(default=1)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(school="school")

    class Meta:
        verbose_name = _("家访记录")
        constraints = [
            models.CheckConstraint(condition=Q(no_gifts_affirmed=True),
                                   name="visit_record_no_gifts_affirmed"),
        ]

    def __str__(self) -> str:
        return f"record {self.visit_id}"


class VisitRecordChild(models.Model):
    """One enrolled child of the visited family: strengths, shortcomings and methods, all three
    required (R23.4/6/7: no complaint-style record)."""

    school = models.ForeignKey("schools.School", on_delete=models.PROTECT, related_name="+")
    record = models.ForeignKey(VisitRecord, on_delete=models.CASCADE, related_name="children")
    student = models.ForeignKey("schools.Student", on_delete=models.PROTECT,
                                related_name="visit_records")
    strengths = models.TextField(_("优点"))
    shortcomings = models.TextField(_("不足"))
    methods = models.TextField(_("改进方法"))

    objects = ScopedManager(school="school")

    class Meta:
        verbose_name = _("家访记录（学生）")
        ordering = ["record_id", "student_id"]
        constraints = [
            models.UniqueConstraint(fields=["record", "student"], name="visit_record_child_unique"),
            models.CheckConstraint(
                condition=~Q(strengths="") & ~Q(shortcomings="") & ~Q(methods=""),
                name="visit_record_child_three_parts"),
        ]

    def __str__(self) -> str:
        return f"{self.record_id}:{self.student_id}"


class VisitRecordRevision(models.Model):
    """The record as it was before an amendment (nothing is lost)."""

    school = models.ForeignKey("schools.School", on_delete=models.PROTECT, related_name="+")
    record = models.ForeignKey(VisitRecord, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField()
    data = models.JSONField()
    edited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                  on_delete=models.SET_NULL, related_name="+")
    edited_at = models.DateTimeField()

    objects = ScopedManager(school="school")

    class Meta:
        verbose_name = _("家访记录修改历史")
        ordering = ["record_id", "version"]
        constraints = [models.UniqueConstraint(fields=["record", "version"],
                                               name="visit_record_revision_unique")]

    def __str__(self) -> str:
        return f"{self.record_id} v{self.version}"


class DemandCategory(models.Model):
    """A category of parent demands (R15). Data, not code: seeded from visits.defaults."""

    code = models.SlugField(_("代码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=40, unique=True)
    sort_order = models.PositiveSmallIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("诉求类别")
        ordering = ["sort_order", "pk"]

    def __str__(self) -> str:
        return self.name


class ParentDemand(models.Model):
    """One demand or opinion a parent raised in a visit (家长诉求), tracked to closure later."""

    class Status(models.TextChoices):
        OPEN = "open", _("待处理")
        RESOLVED = "resolved", _("已解决")
        EXPLAINED = "explained", _("已说明")
        PLAN_MADE = "plan_made", _("已制定推进方案")

    school = models.ForeignKey("schools.School", on_delete=models.PROTECT, related_name="+")
    record = models.ForeignKey(VisitRecord, on_delete=models.CASCADE, related_name="demands")
    family = models.ForeignKey("schools.Family", on_delete=models.PROTECT, related_name="demands")
    text = models.TextField(_("诉求内容"))
    category = models.ForeignKey(DemandCategory, verbose_name=_("类别"), on_delete=models.PROTECT)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices,
                              default=Status.OPEN)
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager(school="school")

    class Meta:
        verbose_name = _("家长诉求")
        ordering = ["record_id", "position", "pk"]
        indexes = [models.Index(fields=["school", "status"], name="demand_school_status")]

    def __str__(self) -> str:
        return self.text[:30]


class StudentVisitStatus(models.Model):
    """Per campaign and student: visited (by a counting record) or declined. Narrow on purpose:
    coverage reads it instead of joining visits, records and children. Rows exist only for
    students visited or declined; written only by `visits.services`."""

    school = models.ForeignKey("schools.School", on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE, related_name="+")
    student = models.ForeignKey("schools.Student", on_delete=models.CASCADE,
                                related_name="visit_statuses")
    school_class = models.ForeignKey("schools.SchoolClass", on_delete=models.CASCADE,
                                     related_name="+")
    family = models.ForeignKey("schools.Family", on_delete=models.CASCADE, related_name="+")
    visited = models.BooleanField(default=False)
    visited_at = models.DateTimeField(null=True, blank=True)
    visit = models.ForeignKey(Visit, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    declined = models.BooleanField(default=False)

    objects = ScopedManager(school="school")

    class Meta:
        verbose_name = _("学生家访状态")
        constraints = [models.UniqueConstraint(fields=["campaign", "student"],
                                               name="student_visit_status_unique")]
        indexes = [
            models.Index(fields=["campaign", "school", "visited"], name="svs_campaign_school"),
            models.Index(fields=["campaign", "school_class"], name="svs_campaign_class"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.student_id}"


class CampaignSchoolFigures(models.Model):
    """A school's coverage figures in one campaign, kept current by the visit services (like
    `schools.SchoolFigures`), so the bureau reads one row per school. Written only by
    `visits.services.campaign_figures_refresh`."""

    school = models.ForeignKey("schools.School", on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey("campaigns.Campaign", on_delete=models.CASCADE,
                                 related_name="school_figures")
    students_visited = models.PositiveIntegerField(default=0)
    families_visited = models.PositiveIntegerField(default=0)
    focus_students_visited = models.PositiveIntegerField(default=0)
    by_category_visited = models.JSONField(default=dict)  # {focus category id: students}
    principal_visits = models.PositiveIntegerField(default=0)
    families_declined = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager(school="school")

    class Meta:
        verbose_name = _("活动学校统计")
        constraints = [models.UniqueConstraint(fields=["campaign", "school"],
                                               name="campaign_school_figures_unique")]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.school_id}"


class VisitRecordDraft(models.Model):
    """The record form as one teacher was typing it (issue 3 pt 6: survives a dropped connection
    and a closed tab). One row per visit and user, overwritten by each save, deleted when the
    record is submitted. The AES-GCM key the page uses for its offline copy in localStorage is
    derived per user and visit (`services.visit_record_draft_key`), never stored (F11)."""

    school = models.ForeignKey("schools.School", on_delete=models.PROTECT, related_name="+")
    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="drafts")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    data = models.JSONField(default=dict, blank=True)
    saved_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(school="school")

    class Meta:
        verbose_name = _("家访记录草稿")
        constraints = [models.UniqueConstraint(fields=["visit", "user"],
                                               name="visit_record_draft_unique")]

    def __str__(self) -> str:
        return f"draft {self.visit_id}:{self.user_id}"


class IdempotencyKey(models.Model):
    """An `Idempotency-Key` of a creating API write (G3): the same key and body answer the
    stored response; the same key with another body is refused (422). Per user, not school."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    response_json = models.JSONField(default=dict)
    status = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("幂等键")
        constraints = [models.UniqueConstraint(fields=["user", "key"],
                                               name="idempotency_key_unique")]

    def __str__(self) -> str:
        return self.key


class VisitPreparation(models.Model):
    """家访准备 (R11, R23.1): the visiting teachers' brief notes before the visit — topics,
    strengths to praise, concerns with the methods they propose. One per visit, written by its
    lead and companions through `services.visit_preparation_save` (any of the three may be
    empty, not all); `version` detects concurrent edits. Pre-fills the record's 家访准备."""

    school = models.ForeignKey("schools.School", on_delete=models.PROTECT, related_name="+")
    visit = models.OneToOneField(Visit, on_delete=models.CASCADE, related_name="preparation")
    topics = models.TextField(_("沟通话题"), blank=True, default="")
    strengths_to_praise = models.TextField(_("值得肯定的优点"), blank=True, default="")
    concerns = models.TextField(_("关注的问题及拟采取的方法"), blank=True, default="")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(_("更新时间"))
    version = models.PositiveIntegerField(default=1)

    objects = ScopedManager(school="school")

    class Meta:
        verbose_name = _("家访准备")

    def __str__(self) -> str:
        return f"preparation {self.visit_id}"
