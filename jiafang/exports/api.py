"""Export API (R12, R24): the same exports as the pages, as binary answers.

Mounted in `jiafang/api/api.py` under `/exports`; the API's global auth (token or session)
applies. Out of scope answers 404 exactly like a missing id; too many exports 429.
"""

from __future__ import annotations

from django.http import JsonResponse
from ninja import Field, Query, Router, Schema

from jiafang.accounts.backends import client_ip
from jiafang.exports import services
from jiafang.exports.registry import DOCX, XLSX, ExportTarget, scope_target
from jiafang.exports.views import attachment

router = Router(tags=["exports"])


def _binary(content_type: str, description: str) -> dict:
    detail = {"application/json": {"schema": {
        "type": "object", "properties": {"detail": {"type": "string"}}}}}
    return {"responses": {
        200: {"description": description, "content": {
            content_type: {"schema": {"type": "string", "format": "binary"}}}},
        404: {"description": "不存在、不在你的范围内或尚无记录", "content": detail},
        429: {"description": "导出过于频繁（见 Retry-After）", "content": detail},
    }}


def _run(request, identifier: str, target: ExportTarget):
    try:
        result = services.export_run(exporter=identifier, user=request.user, target=target,
                                     request_ip=client_ip(request), via="api")
    except services.ExportRateLimited as limited:
        response = JsonResponse({"detail": str(limited)}, status=429)
        response["Retry-After"] = str(limited.retry_after)
        return response
    return attachment(result)


@router.get("/visits/{visit_id}/record.docx", response={200: None},
            openapi_extra=_binary(DOCX, "家访记录表（附件2）Word 文件"))
def export_visit_record_docx(request, visit_id: int):
    """One visit record as Word in the layout of 附件2; 404 when the visit is missing, out of
    scope or not yet recorded."""
    return _run(request, "visit_record_docx", ExportTarget("visit", visit_id))


class LedgerFilter(Schema):
    campaign: int | None = Field(None, description="家访活动；按班级或学校导出时省略为当前活动")
    school: int | None = None
    class_id: int | None = Field(None, alias="class")


@router.get("/ledger.xlsx", response={200: None},
            openapi_extra=_binary(XLSX, "家访台账 Excel 文件，每条记录一行"))
def export_ledger_xlsx(request, filters: Query[LedgerFilter]):
    """The 台账 of a class (`class`), a school (`school`) or a whole campaign (`campaign` alone,
    bureau officers) as Excel."""
    target = scope_target(campaign=filters.campaign, school=filters.school,
                          school_class=filters.class_id)
    return _run(request, "ledger_xlsx", target)
