"""The timetable's secrets: parent links (a parent confirms a visit or asks for another time
without an account) and per-teacher iCalendar feeds (R8, R17, R23.2; SECURITY.md B12).

Only the SHA-256 of a token is stored; the raw token is shown once to the teacher who created it.
Rows are written only by `timetable.services`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager


class ParentLink(models.Model):
    """A tokenized link for the family of one visit: bound to that visit (and so to one family)
    and one purpose (confirm the appointment or ask for another time), expiring at the end of the
    visit's day and at most `services.LINK_MAX_DAYS` after creation. A new link for the visit
    revokes the previous one (at most one unrevoked link per visit)."""

    school = models.ForeignKey("schools.School", on_delete=models.PROTECT, related_name="+")
    visit = models.ForeignKey("visits.Visit", on_delete=models.CASCADE,
                              related_name="parent_links")
    token_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)
    expires_at = models.DateTimeField(_("失效时间"))
    first_used_at = models.DateTimeField(_("首次打开"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("最近打开"), null=True, blank=True)
    use_count = models.PositiveIntegerField(_("打开次数"), default=0)
    revoked_at = models.DateTimeField(_("作废时间"), null=True, blank=True)

    objects = ScopedManager(school="school")

    class Meta:
        verbose_name = _("家长链接")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["visit"], condition=Q(revoked_at=None),
                                    name="parent_link_one_active_per_visit"),
        ]

    def __str__(self) -> str:
        return f"parent link {self.pk} of visit {self.visit_id}"


class CalendarFeed(models.Model):
    """A teacher's secret iCalendar URL for phone calendars. It belongs to a user, not a school
    (no ScopedManager); the visits it lists are read inside a scope of the user's schools.
    At most one unrevoked feed per user: creating a new one revokes the old URL."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("生成时间"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("最近同步"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("作废时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("日历订阅")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["user"], condition=Q(revoked_at=None),
                                    name="calendar_feed_one_active_per_user"),
        ]

    def __str__(self) -> str:
        return f"calendar feed {self.pk} of user {self.user_id}"
