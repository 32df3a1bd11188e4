"""Scoped reads of the export log (R23.10; SECURITY.md F1).

Who reads which rows: a school's principal and coordinator read the exports that held their
school's data (whoever made them: their teachers, or a bureau officer's campaign ledger); bureau
officers read those of the schools of their bureau and its sub-bureaus. Anyone else: 404.
Attempts that were refused (missing or out of scope, rate limited) hold no school and appear to
no one here: they stay in the table for the audit and the rate limit.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from jiafang.accounts.models import User
from jiafang.exports.models import ExportLog, ExportLogSchool
from jiafang.schools import scoping


def export_log_school_ids(user: User) -> frozenset[int]:
    access = scoping.access_for(user)
    return access.managed_school_ids | access.bureau_school_ids


def export_logs_for_user(user: User) -> QuerySet[ExportLog]:
    """The log rows the user may read, newest first; 404 for users who read none."""
    school_ids = export_log_school_ids(user)
    if not school_ids:
        raise Http404
    links = ExportLogSchool.objects.filter(school_id__in=school_ids).values("log_id")
    return (ExportLog.objects.filter(pk__in=links).select_related("user")
            .order_by("-at", "-pk"))
