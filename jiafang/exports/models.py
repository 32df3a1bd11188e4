"""The export log (R23.10, R12; SECURITY.md B10, F1): one row per export attempt, written only by
`exports.services.export_run`. Append-only: rows are never changed or deleted by the
application (the model and its querysets refuse it)."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager


class ExportLogImmutable(Exception):  # noqa: N818 - reads better at the raise site
    """The export log is append-only."""


class ExportLogQuerySet(models.QuerySet):
    def delete(self):
        raise ExportLogImmutable("export log rows cannot be deleted")

    def update(self, **kwargs):
        raise ExportLogImmutable("export log rows cannot be changed")


class ExportLog(models.Model):
    """Who exported what, when (stored in UTC), from which address, how many rows, and how it
    ended. Linked to the schools whose data the export held (`ExportLogSchool`), which is what
    decides who may read the row on the log page."""

    class Outcome(models.TextChoices):
        OK = "ok", _("已导出")
        DENIED = "denied", _("不存在或无权限")
        RATE_LIMITED = "rate_limited", _("过于频繁")
        FAILED = "failed", _("失败")

    class Via(models.TextChoices):
        PAGE = "page", _("网页")
        API = "api", _("接口")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("导出人"),
                             on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("时间"), default=timezone.now)
    exporter = models.CharField(_("导出类型"), max_length=60)
    target_kind = models.CharField(_("对象类型"), max_length=16)
    target_id = models.PositiveBigIntegerField(_("对象编号"), null=True, blank=True)
    target_campaign = models.PositiveBigIntegerField(_("活动编号"), null=True, blank=True)
    description = models.CharField(_("导出内容"), max_length=200, blank=True, default="")
    row_count = models.PositiveIntegerField(_("行数"), default=0)
    client_ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    via = models.CharField(_("方式"), max_length=8, choices=Via.choices, default=Via.PAGE)
    outcome = models.CharField(_("结果"), max_length=16, choices=Outcome.choices)
    schools = models.ManyToManyField("schools.School", through="ExportLogSchool", blank=True,
                                     related_name="+")

    objects = ExportLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("导出记录")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["user", "at"], name="export_log_user_at")]

    def __str__(self) -> str:
        return f"{self.exporter}:{self.target_kind}:{self.target_id}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ExportLogImmutable("export log rows cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ExportLogImmutable("export log rows cannot be deleted")


class ExportLogSchool(models.Model):
    """A school whose data an export held (a campaign ledger holds several)."""

    school = models.ForeignKey("schools.School", on_delete=models.PROTECT, related_name="+")
    log = models.ForeignKey(ExportLog, on_delete=models.PROTECT, related_name="school_links")

    objects = ScopedManager(school="school")

    class Meta:
        verbose_name = _("导出记录涉及的学校")
        constraints = [models.UniqueConstraint(fields=["log", "school"],
                                               name="export_log_school_unique")]
        indexes = [models.Index(fields=["school", "log"], name="export_log_school_log")]

    def __str__(self) -> str:
        return f"{self.log_id}:{self.school_id}"
