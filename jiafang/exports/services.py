"""Running an export: the one place that checks the rate limit, resolves the target through the
scoping layer, renders the file in memory and logs the attempt (R12, R23.10; SECURITY.md B4,
B10, E8, F1).

Every attempt is logged: a finished export with its row count and the schools whose data it
held; a target that is missing or out of scope as `denied` (no school: nothing about the target
is revealed, not even to the log page); a refused burst as `rate_limited`; a crash as `failed`.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from jiafang.accounts.models import User
from jiafang.exports.models import ExportLog, ExportLogSchool
from jiafang.exports.registry import Exporter, ExportTarget, get_exporter

# B10: at most RATE_LIMIT exports (finished, denied or failed) per user in RATE_WINDOW.
RATE_LIMIT = 30
RATE_WINDOW = dt.timedelta(minutes=10)
COUNTED = (ExportLog.Outcome.OK, ExportLog.Outcome.DENIED, ExportLog.Outcome.FAILED)


class ExportRateLimited(Exception):  # noqa: N818 - the pages and API map it to 429
    def __init__(self, retry_after: int):
        super().__init__(_("导出过于频繁，请稍后再试。"))
        self.retry_after = retry_after


@dataclass(frozen=True)
class ExportResult:
    filename: str
    ascii_filename: str  # the fallback for clients without RFC 5987
    content_type: str
    data: bytes
    log: ExportLog


def _ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def _log(*, user: User, exporter_id: str, target: ExportTarget, request_ip: str, via: str,
         outcome: str, description: str = "", row_count: int = 0,
         school_ids: list[int] | tuple = ()) -> ExportLog:
    with transaction.atomic():
        log = ExportLog.objects.create(
            user=user, at=timezone.now(), exporter=exporter_id[:60],
            target_kind=target.kind[:16], target_id=target.pk_int,
            target_campaign=target.campaign_int, description=description[:200],
            row_count=row_count, client_ip=_ip(request_ip), via=via, outcome=outcome)
        ExportLogSchool.objects.bulk_create(
            [ExportLogSchool(log=log, school_id=pk) for pk in sorted(set(school_ids))])
    return log


def export_retry_after(*, user: User, now: dt.datetime | None = None) -> int:
    """0 when the user may export now, else the seconds until the oldest counted attempt of
    the window leaves it."""
    now = now or timezone.now()
    recent = list(ExportLog.objects.filter(user=user, at__gt=now - RATE_WINDOW,
                                           outcome__in=COUNTED)
                  .order_by("-at").values_list("at", flat=True)[:RATE_LIMIT])
    if len(recent) < RATE_LIMIT:
        return 0
    return max(1, int((recent[-1] + RATE_WINDOW - now).total_seconds()) + 1)


def export_run(*, exporter: str | type[Exporter], user: User, target: ExportTarget,
               request_ip: str = "", via: str = ExportLog.Via.PAGE) -> ExportResult:
    """Run one export for the user: rate limit (ExportRateLimited), the target through the
    exporter's scoped lookup (Http404, identical for missing and out of scope), the file in
    memory, one ExportLog row whatever the outcome."""
    cls = get_exporter(exporter) if isinstance(exporter, str) else exporter
    common = {"user": user, "exporter_id": cls.identifier, "target": target,
              "request_ip": request_ip, "via": via}
    # One export of a user at a time (the user's row locked from the count to the log row):
    # parallel requests cannot all pass a limit they each counted before the others logged.
    # Errors are raised after the block, so that their log rows are kept.
    with transaction.atomic():
        list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
        try:
            return _export(cls, user, target, common)
        except Exception as error:  # rate limited, 404 or failed: logged inside _export
            failure = error
    raise failure


def _export(cls: type[Exporter], user: User, target: ExportTarget, common: dict
            ) -> ExportResult:
    retry_after = export_retry_after(user=user)
    if retry_after:
        _log(outcome=ExportLog.Outcome.RATE_LIMITED, **common)
        raise ExportRateLimited(retry_after)
    instance = cls(user=user, target=target)
    try:
        if target.kind not in cls.target_kinds:
            raise Http404
        instance.resolve()
    except Http404:
        _log(outcome=ExportLog.Outcome.DENIED, **common)
        raise
    try:
        with transaction.atomic():  # a database error in rendering leaves the log writable
            data = instance.render()
    except Exception:
        _log(outcome=ExportLog.Outcome.FAILED, description=instance.description(),
             school_ids=instance.school_ids, **common)
        raise
    log = _log(outcome=ExportLog.Outcome.OK, description=instance.description(),
               row_count=instance.row_count, school_ids=instance.school_ids, **common)
    fallback = f"jiafang-{cls.identifier.replace('_', '-')}-{log.pk}.{cls.format}"
    return ExportResult(filename=instance.filename(), ascii_filename=fallback,
                        content_type=instance.content_type, data=data, log=log)
