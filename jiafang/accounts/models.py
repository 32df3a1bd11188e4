"""Staff accounts (one per person), their roles, and personal API tokens."""

import hashlib

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A member of staff. Logs in with username or phone number. No default accounts exist."""

    full_name = models.CharField(_("姓名"), max_length=50, blank=True, default="")
    phone = models.CharField(_("手机号"), max_length=20, null=True, blank=True, unique=True)
    password_changed_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    class Meta:
        verbose_name = _("用户")

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def display_name(self) -> str:
        return self.full_name or self.username


class Role(models.Model):
    """What a person is at a school (or a bureau). A person may hold several roles."""

    class Kind(models.TextChoices):
        BUREAU_OFFICER = "bureau_officer", _("教育局工作人员")
        PRINCIPAL = "principal", _("校长")
        COORDINATOR = "coordinator", _("德育处/学校管理员")
        HEAD_TEACHER = "head_teacher", _("班主任")
        SUBJECT_TEACHER = "subject_teacher", _("学科教师")
        MENTAL_HEALTH = "mental_health", _("心理健康教育教师")
        SAFETY_OFFICER = "safety_officer", _("安全负责人")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="roles")
    kind = models.CharField(_("角色"), max_length=20, choices=Kind.choices)
    bureau = models.ForeignKey("schools.Bureau", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="+")
    school = models.ForeignKey("schools.School", null=True, blank=True, on_delete=models.CASCADE,
                               related_name="+")
    school_class = models.ForeignKey("schools.SchoolClass", null=True, blank=True,
                                     on_delete=models.CASCADE, related_name="+")
    subject = models.CharField(_("任教学科"), max_length=20, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("角色")
        ordering = ["kind", "pk"]
        constraints = [
            models.CheckConstraint(
                name="role_target_matches_kind",
                condition=(
                    Q(kind="bureau_officer", bureau__isnull=False, school__isnull=True,
                      school_class__isnull=True)
                    | Q(kind__in=["principal", "coordinator", "mental_health", "safety_officer"],
                        bureau__isnull=True, school__isnull=False, school_class__isnull=True)
                    | Q(kind__in=["head_teacher", "subject_teacher"], bureau__isnull=True,
                        school__isnull=False, school_class__isnull=False)
                ),
            ),
            models.UniqueConstraint(fields=["kind", "school_class"],
                                    condition=Q(kind="head_teacher"),
                                    name="one_head_teacher_per_class"),
        ]

    def __str__(self) -> str:
        target = self.school_class or self.school or self.bureau
        return f"{self.get_kind_display()} · {target}"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class AccessToken(models.Model):
    """A personal access token for the API. Only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="tokens")
    name = models.CharField(_("名称"), max_length=60)
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("访问令牌")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None
