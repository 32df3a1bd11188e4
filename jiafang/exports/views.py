"""Export downloads and the export log page (R12, R24, R23.10; SECURITY.md B4, B10, E3).

Thin: `exports.services.export_run` checks the rate limit, resolves the target through the
scoping layer (404 for missing and out of scope alike), renders and logs. Files are answered as
attachments with a server-chosen name (RFC 5987 `filename*` for Chinese) and `no-store`.
"""

from __future__ import annotations

from urllib.parse import quote

from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from jiafang.accounts.backends import client_ip
from jiafang.exports import selectors, services
from jiafang.exports.registry import ExportTarget, scope_target

LOG_PAGE_SIZE = 50


def content_disposition(filename: str, fallback: str) -> str:
    """attachment; an ASCII fallback name and the real (Chinese) one as RFC 5987 filename*."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_"
                       for c in fallback)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def attachment(result: services.ExportResult) -> HttpResponse:
    response = HttpResponse(result.data, content_type=result.content_type)
    response["Content-Disposition"] = content_disposition(result.filename, result.ascii_filename)
    response["Content-Length"] = str(len(result.data))
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _download(request, identifier: str, target: ExportTarget):
    try:
        result = services.export_run(exporter=identifier, user=request.user, target=target,
                                     request_ip=client_ip(request), via="page")
    except services.ExportRateLimited as limited:
        response = render(request, "exports/rate_limited.html", {
            "limit": services.RATE_LIMIT,
            "minutes": int(services.RATE_WINDOW.total_seconds() // 60),
            "wait_minutes": max(1, (limited.retry_after + 59) // 60)}, status=429)
        response["Retry-After"] = str(limited.retry_after)
        return response
    return attachment(result)


@require_GET
def visit_record_docx(request, pk: int):
    """One visit record as Word (附件2): whoever may read the visit; 404 without a record."""
    return _download(request, "visit_record_docx", ExportTarget("visit", pk))


@require_GET
def ledger(request):
    """The 台账 as Excel: `?campaign=&class=` (the class's to-do readers), `?campaign=&school=`
    (school coverage readers), `?campaign=` alone (bureau coverage readers)."""
    target = scope_target(campaign=request.GET.get("campaign"), school=request.GET.get("school"),
                          school_class=request.GET.get("class"))
    return _download(request, "ledger_xlsx", target)


@require_GET
def export_log(request):
    """Who exported what: principals and coordinators (their school's data), bureau officers
    (their schools'); everyone else 404."""
    logs = selectors.export_logs_for_user(request.user)
    page = Paginator(logs, LOG_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "exports/log.html", {"page": page})
