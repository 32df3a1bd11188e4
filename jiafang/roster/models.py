"""An uploaded roster file between its preview and its confirmation.

The bytes are kept in the database (no temporary files, SECURITY E8) only while the upload is
pending; importing or discarding it empties `content`, and pending uploads older than
`PENDING_RETENTION` are emptied by `roster_uploads_purge` (run on every new upload and by the
`purge_roster_uploads` command). The row itself stays as the record of who imported what, when,
with the result's figures (PIPL Art. 56 processing record); the result's warnings and the names of
the people absent from the file (names, phone numbers) are stripped from `summary` by the same
purge once the import is older than `PENDING_RETENTION`.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

PENDING_RETENTION = timedelta(hours=24)


class RosterUpload(models.Model):
    class Kind(models.TextChoices):
        STUDENTS = "students", _("学生名册")
        STAFF = "staff", _("教职工名册")

    class Status(models.TextChoices):
        PENDING = "pending", _("待确认")
        IMPORTED = "imported", _("已导入")
        DISCARDED = "discarded", _("已放弃")

    school = models.ForeignKey("schools.School", verbose_name=_("学校"), on_delete=models.PROTECT,
                               related_name="+")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(_("类型"), max_length=16, choices=Kind.choices)
    file_name = models.CharField(_("文件名"), max_length=200)
    size = models.PositiveIntegerField(_("大小"), default=0)
    sha256 = models.CharField(max_length=64)
    content = models.BinaryField(default=b"", editable=False)
    status = models.CharField(_("状态"), max_length=16, choices=Status.choices,
                              default=Status.PENDING)
    summary = models.JSONField(_("导入结果"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(school="school")

    class Meta:
        verbose_name = _("名册上传")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "created_at"], name="rosterupload_status")]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING
