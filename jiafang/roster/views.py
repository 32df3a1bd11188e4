"""Roster import pages: upload → preview (every error and warning) → confirm → result.

Only the school's principal and coordinators may import (`scoping.can_manage_roster`); anyone
else gets 404 for every page here, exactly like a school that does not exist. Thin views: the
rules and writes are in `jiafang.roster.services`.
"""

from django.contrib import messages
from django.db import IntegrityError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from jiafang.roster import blank, services
from jiafang.roster.forms import (
    InMemoryRosterUploadHandler,
    UnreadBodyUploadHandler,
    UploadForm,
    max_upload_mb,
)
from jiafang.roster.models import RosterUpload
from jiafang.schools import scoping
from jiafang.schools.models import School

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_MESSAGES_SHOWN = 2000


def _school_for_roster(request, school_pk) -> School:
    """The school whose roster this user may import, else 404 (never a bare School lookup)."""
    school = scoping.roster_schools_for_user(request.user).filter(pk=school_pk).first()
    if school is None or not scoping.can_manage_roster(request.user, school_id=school.pk):
        raise Http404
    return school


def _upload_for(school: School, upload_pk) -> RosterUpload:
    upload = RosterUpload.objects.filter(school=school, pk=upload_pk).select_related(
        "school", "uploaded_by").first()
    if upload is None:
        raise Http404
    return upload


def _preview_context(school, preview, upload=None, **extra):
    errors = preview.errors
    warnings = preview.warnings
    return {
        "school": school, "preview": preview, "upload": upload,
        "errors": errors[:MAX_MESSAGES_SHOWN], "errors_hidden": max(0, len(errors)
                                                                    - MAX_MESSAGES_SHOWN),
        "warnings": warnings[:MAX_MESSAGES_SHOWN],
        "warnings_hidden": max(0, len(warnings) - MAX_MESSAGES_SHOWN),
        "kind_label": RosterUpload.Kind(preview.kind).label, **extra,
    }


@csrf_exempt  # the upload handler must be set before the CSRF check reads the body …
@require_http_methods(["GET", "POST"])
def upload(request, school_pk: int, kind: str = RosterUpload.Kind.STUDENTS):
    # Who may import here is decided before a byte of the body is read (D6): anyone else gets
    # the 404 without the server reading their upload. (request.user comes from the session.)
    try:
        school = _school_for_roster(request, school_pk)
    except Http404:
        request.upload_handlers = [UnreadBodyUploadHandler(request)]
        raise
    handler = InMemoryRosterUploadHandler(request)
    request.upload_handlers = [handler]  # raises if the body had already been read
    return _upload(request, school, kind, handler)


@csrf_protect  # … so the check runs here instead.
def _upload(request, school: School, kind: str, handler: InMemoryRosterUploadHandler):
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if handler.too_many:
            form.is_valid()
            form.errors["file"] = form.error_class([_("一次只能上传一个名册文件。")])
            return _upload_page(request, school, form, status=400)
        if handler.too_big:
            form.is_valid()
            form.errors["file"] = form.error_class(
                [_("文件超过 %(mb)s MB 上限。") % {"mb": max_upload_mb()}])
            return _upload_page(request, school, form, status=413)
        if not form.is_valid():
            return _upload_page(request, school, form, status=400)
        kind = form.cleaned_data["kind"]
        file = form.cleaned_data["file"]
        data = file.read()
        preview = services.PREVIEWS[RosterUpload.Kind(kind)](
            school=school, file_name=file.name, data=data)
        if not preview.ok:
            # Nothing is kept of a file with errors: show what to fix, store no bytes.
            return render(request, "roster/preview.html", _preview_context(school, preview))
        stored = services.roster_upload_create(school=school, by=request.user, kind=kind,
                                               file_name=file.name, data=data)
        return redirect("roster:preview", school_pk=school.pk, upload_pk=stored.pk)
    form = UploadForm(initial={"kind": kind})
    return _upload_page(request, school, form)


def _upload_page(request, school, form, status=200):
    recent = (RosterUpload.objects.filter(school=school).select_related("uploaded_by")
              .defer("content")[:10])
    return render(request, "roster/upload.html", {
        "school": school, "form": form, "recent": recent, "max_mb": max_upload_mb(),
    }, status=status)


def _expired_page(request, school, stored):
    """An upload left pending past the retention: told, not read; a GET writes nothing (the file
    is emptied by `roster_uploads_purge`, or by a confirmation)."""
    return render(request, "roster/result.html", {"school": school, "upload": stored,
                                                  "expired": True})


@require_GET
def preview(request, school_pk: int, upload_pk: int):
    school = _school_for_roster(request, school_pk)
    stored = _upload_for(school, upload_pk)
    if stored.is_pending and services.upload_expired(stored):
        return _expired_page(request, school, stored)
    if not stored.is_pending:
        return redirect("roster:result", school_pk=school.pk, upload_pk=stored.pk)
    result = services.upload_preview(upload=stored)
    return render(request, "roster/preview.html", _preview_context(school, result, stored))


@require_POST
def confirm(request, school_pk: int, upload_pk: int):
    school = _school_for_roster(request, school_pk)
    stored = _upload_for(school, upload_pk)
    try:
        stored, result = services.roster_upload_confirm(school=school, upload_id=stored.pk,
                                                        by=request.user)
    except services.ImportRefused as refused:
        # The data changed since the preview: nothing was written; show the new errors.
        return render(request, "roster/preview.html",
                      _preview_context(school, refused.preview, stored), status=409)
    except IntegrityError:
        # Someone wrote the same rows at the same moment (an account with the same phone, the
        # same focus flag): the import's transaction was rolled back whole and the upload is
        # still pending. Show the preview again, as it is now.
        stored.refresh_from_db()
        if not stored.is_pending:
            return redirect("roster:result", school_pk=school.pk, upload_pk=stored.pk)
        context = _preview_context(school, services.upload_preview(upload=stored), stored,
                                   conflict=_("数据刚被其他人修改，请重新确认导入。"))
        return render(request, "roster/preview.html", context, status=409)
    if result is None and stored.status == RosterUpload.Status.IMPORTED:
        messages.info(request, _("这份名册已经导入过，没有重复导入。"))
    elif result is None:
        messages.error(request, _("这次上传已失效，请重新上传名册。"))
        return redirect("roster:upload", school_pk=school.pk)
    else:
        messages.success(request, _("名册已导入。"))
    return redirect("roster:result", school_pk=school.pk, upload_pk=stored.pk)


@require_POST
def discard(request, school_pk: int, upload_pk: int):
    school = _school_for_roster(request, school_pk)
    stored = _upload_for(school, upload_pk)
    services.roster_upload_discard(upload=stored)
    if stored.status == RosterUpload.Status.DISCARDED:
        messages.info(request, _("已放弃这次上传，没有导入任何数据。"))
    return redirect("roster:upload", school_pk=school.pk)


@require_GET
def result(request, school_pk: int, upload_pk: int):
    school = _school_for_roster(request, school_pk)
    stored = _upload_for(school, upload_pk)
    if stored.is_pending:
        if services.upload_expired(stored):
            return _expired_page(request, school, stored)
        return redirect("roster:preview", school_pk=school.pk, upload_pk=stored.pk)
    summary = stored.summary or {}
    labels = (services.STUDENT_FIGURES if stored.kind == RosterUpload.Kind.STUDENTS
              else services.STAFF_FIGURES)
    counts = summary.get("counts", {})
    return render(request, "roster/result.html", {
        "school": school, "upload": stored,
        "figures": [(label, counts[key]) for key, label in labels if key in counts],
        "warnings": summary.get("warnings", []), "absent": summary.get("absent", []),
        "new_classes": summary.get("new_classes", []),
        # After the retention only the figures are kept (F8/F9).
        "details_removed": not any(k in summary for k in services.PERSONAL_SUMMARY_KEYS),
    })


@require_GET
def template(request, school_pk: int, kind: str):
    school = _school_for_roster(request, school_pk)
    if kind == RosterUpload.Kind.STUDENTS:
        content, name = blank.student_template(school), _("学生名册模板.xlsx")
    elif kind == RosterUpload.Kind.STAFF:
        content, name = blank.staff_template(school), _("教职工名册模板.xlsx")
    else:
        raise Http404
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response
