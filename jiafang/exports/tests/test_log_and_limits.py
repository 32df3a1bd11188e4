"""The export log, the rate limit, files kept in memory, the registry and the download links
(R12, R23.10; SECURITY.md B10, E7, E8, F1)."""

import datetime as dt
import os
import tempfile
from io import BytesIO

import openpyxl
import pytest
from django.http import Http404
from django.utils import timezone

from jiafang.exports import services
from jiafang.exports.models import ExportLog, ExportLogImmutable, ExportLogSchool
from jiafang.exports.registry import (
    FORMULA_STARTS,
    Column,
    ExportTarget,
    XlsxExporter,
    exporters,
    get_exporter,
    register,
    sanitize_cell,
)
from jiafang.exports.tests.helpers import docx_text
from jiafang.visits.tests.conftest import schedule_and_record

pytestmark = pytest.mark.usefixtures("scoped")


@pytest.fixture
def recorded(district, campaign):
    d = district
    d.campaign = campaign
    d.visit_a1, _record = schedule_and_record(d, campaign, d.families["a1_only"])
    d.visit_b, _record = schedule_and_record(d, campaign, d.families["b"],
                                             lead=d.users["head_b1"])
    return d


def _get(client, user, url):
    client.force_login(user)
    return client.get(url)


# --- the log -----------------------------------------------------------------------------------

def test_every_export_is_logged_with_who_what_how_many_and_the_outcome(recorded, client):
    """F1, R23.10: one row per attempt: who, when (UTC), exporter, target, row count, client
    address, page or API, outcome; a refused attempt is logged without any school."""
    d = recorded
    before = timezone.now()
    assert _get(client, d.users["head_a1"],
                f"/exports/visits/{d.visit_a1.pk}/record.docx").status_code == 200
    assert _get(client, d.users["head_a1"],
                f"/api/v1/exports/ledger.xlsx?campaign={d.campaign.pk}&class={d.class_a1.pk}"
                ).status_code == 200
    assert _get(client, d.users["bureau_officer"],
                f"/exports/ledger.xlsx?campaign={d.campaign.pk}").status_code == 200
    assert _get(client, d.users["head_b1"],
                f"/exports/visits/{d.visit_a1.pk}/record.docx").status_code == 404

    logs = list(ExportLog.objects.order_by("pk"))
    summary = [(log.user.username, log.exporter, log.target_kind, log.target_id, log.row_count,
                log.via, log.outcome, sorted(log.schools.values_list("code", flat=True)))
               for log in logs]
    assert summary == [
        ("head_a1", "visit_record_docx", "visit", d.visit_a1.pk, 1, "page", "ok", ["A001"]),
        ("head_a1", "ledger_xlsx", "class", d.class_a1.pk, 1, "api", "ok", ["A001"]),
        ("bureau_officer", "ledger_xlsx", "campaign", d.campaign.pk, 2, "page", "ok",
         ["A001", "B001"]),
        ("head_b1", "visit_record_docx", "visit", d.visit_a1.pk, 0, "page", "denied", []),
    ]
    for log in logs:
        assert log.client_ip == "127.0.0.1"
        assert log.at.utcoffset() == dt.timedelta(0) and log.at >= before
    assert logs[1].target_campaign == d.campaign.pk
    assert "三年级(1)班" in logs[1].description and d.campaign.name in logs[1].description
    assert "李思" not in logs[0].description  # no child's name in the log


def test_log_page_shows_each_reader_the_exports_of_their_schools_data(recorded, client):
    """R23.10: principals and coordinators see who exported their school's data (their teachers
    and the bureau's campaign ledger); bureau officers their schools'; teachers get 404."""
    d = recorded
    _get(client, d.users["head_a1"], f"/exports/visits/{d.visit_a1.pk}/record.docx")
    _get(client, d.users["bureau_officer"], f"/exports/ledger.xlsx?campaign={d.campaign.pk}")
    _get(client, d.users["head_b1"], f"/exports/visits/{d.visit_b.pk}/record.docx")
    _get(client, d.users["head_b1"], f"/exports/visits/{d.visit_a1.pk}/record.docx")  # denied

    def page(persona):
        response = _get(client, d.users[persona], "/exports/log/")
        return response.status_code, response.content.decode()

    status, html = page("principal_a")
    assert status == 200
    assert html.count("<td>head_a1</td>") == 1 and html.count("<td>bureau_officer</td>") == 1
    assert "head_b1" not in html
    status, html = page("coordinator_b")
    assert html.count("<td>head_b1</td>") == 1  # its own school's export, not the denied one
    assert "head_a1" not in html and html.count("<td>bureau_officer</td>") == 1
    status, html = page("city_officer")
    assert html.count("<tr><td") == 3
    for persona in ("head_a1", "subject_a1", "mental_a", "safety_a", "no_role"):
        assert page(persona)[0] == 404


def test_export_log_rows_cannot_be_changed_or_deleted(recorded, client):
    """F2 (application side): the log is append-only."""
    d = recorded
    _get(client, d.users["head_a1"], f"/exports/visits/{d.visit_a1.pk}/record.docx")
    log = ExportLog.objects.get()
    with pytest.raises(ExportLogImmutable):
        log.delete()
    with pytest.raises(ExportLogImmutable):
        ExportLog.objects.all().delete()
    with pytest.raises(ExportLogImmutable):
        ExportLog.objects.update(row_count=0)
    log.row_count = 99
    with pytest.raises(ExportLogImmutable):
        log.save()
    assert ExportLog.objects.get().row_count == 1
    assert ExportLogSchool.objects.count() == 1


# --- rate limit (B10) --------------------------------------------------------------------------

def _fill(user, n, minutes_ago=0, outcome="ok"):
    at = timezone.now() - dt.timedelta(minutes=minutes_ago)
    for _i in range(n):
        ExportLog.objects.create(user=user, at=at, exporter="ledger_xlsx", target_kind="class",
                                 outcome=outcome)


def test_more_than_30_exports_in_10_minutes_are_refused_with_429(recorded, client):
    """B10: the 31st export within ten minutes answers 429 with a Chinese page (and JSON in the
    API) and Retry-After; the refusal is logged; older exports do not count."""
    d = recorded
    user = d.users["head_a1"]
    url = f"/exports/visits/{d.visit_a1.pk}/record.docx"
    _fill(user, services.RATE_LIMIT, minutes_ago=11)
    _fill(user, services.RATE_LIMIT - 1, minutes_ago=3)
    assert _get(client, user, url).status_code == 200  # the 30th in the window
    response = _get(client, user, url)
    assert response.status_code == 429
    html = response.content.decode()
    assert "导出过于频繁" in html and "10 分钟内最多导出 30 次" in html
    assert 0 < int(response["Retry-After"]) <= 600
    api = _get(client, user, f"/api/v1{url}")
    assert api.status_code == 429 and api.json()["detail"] == "导出过于频繁，请稍后再试。"
    assert ExportLog.objects.filter(user=user, outcome="rate_limited").count() == 2
    assert _get(client, d.users["head_b1"],
                f"/exports/visits/{d.visit_b.pk}/record.docx").status_code == 200  # per user


def test_refused_lookups_count_toward_the_limit(recorded, client):
    """B10: probing ids (404s) uses up the allowance as well."""
    d = recorded
    user = d.users["head_b1"]
    _fill(user, services.RATE_LIMIT, outcome="denied")
    assert _get(client, user, f"/exports/visits/{d.visit_b.pk}/record.docx").status_code == 429


# --- files in memory, sanitizer, registry ------------------------------------------------------

def test_exports_write_no_temporary_file(recorded, client, monkeypatch):
    """E8: the Word and Excel files are built in memory: openpyxl's temporary-file helper is
    never called and the temp directory holds the same files before and after."""
    import openpyxl.worksheet._writer as worksheet_writer

    def refuse(*args, **kwargs):
        raise AssertionError("openpyxl tried to write a temporary file")

    monkeypatch.setattr(worksheet_writer, "create_temporary_file", refuse)
    d = recorded
    before = set(os.listdir(tempfile.gettempdir()))
    for persona, url in (("principal_a", f"/exports/visits/{d.visit_a1.pk}/record.docx"),
                         ("principal_a", f"/exports/ledger.xlsx?campaign={d.campaign.pk}"
                                         f"&school={d.school_a.pk}"),
                         ("bureau_officer", f"/exports/ledger.xlsx?campaign={d.campaign.pk}")):
        assert _get(client, d.users[persona], url).status_code == 200
    assert set(os.listdir(tempfile.gettempdir())) == before


class _Payloads(XlsxExporter):
    identifier = "test_payloads"
    verbose_name = "test"
    target_kinds = ("school",)
    PAYLOADS = ['=HYPERLINK("http://evil.example/","x")', "+1", "-1", "@SUM(A1:A2)",
                "\t=1+1", "\r=1+1", "=cmd|' /C calc'!A0", "a\x00b\x1fc", "普通文字", 42]

    def sheet_title(self):
        return "表[1]:*?/\\"

    def columns(self):
        return [Column("=表头"), Column("值")]

    def rows(self):
        for value in self.PAYLOADS:
            yield [value, "ok"]


def test_sanitizer_keeps_every_payload_plain_text_when_read_back(district):
    """E7: = + - @ tab CR at the start get an apostrophe; control characters are dropped;
    numbers stay numbers; the sheet name is made valid."""
    exporter = _Payloads(user=district.users["principal_a"], target=ExportTarget("school", 1))
    book = openpyxl.load_workbook(BytesIO(exporter.render()))
    sheet = book.active
    assert sheet.title == "表1"
    values = [row[0].value for row in sheet.iter_rows(min_row=2)]
    for row in sheet.iter_rows():
        assert row[0].data_type != "f"
    assert sheet["A1"].value == "'=表头"
    assert values[:7] == ["'" + p for p in _Payloads.PAYLOADS[:7]]
    assert values[7:] == ["abc", "普通文字", 42]
    assert not any(isinstance(v, str) and v.startswith(FORMULA_STARTS) for v in values)
    assert exporter.row_count == len(_Payloads.PAYLOADS)
    assert sanitize_cell(None) is None and sanitize_cell("x" * 40000) == "x" * 32767


def test_registry_knows_the_visit_exporters_and_refuses_unknown_or_duplicate_ones():
    identifiers = {cls.identifier for cls in exporters()}
    assert {"visit_record_docx", "ledger_xlsx"} <= identifiers
    assert get_exporter("ledger_xlsx").format == "xlsx"
    assert get_exporter("visit_record_docx").target_kinds == ("visit",)
    with pytest.raises(Http404):
        get_exporter("nope")

    class Duplicate(XlsxExporter):
        identifier = "ledger_xlsx"
        verbose_name = "dup"
        target_kinds = ("class",)

    with pytest.raises(ValueError, match="twice"):
        register(Duplicate)


def test_export_run_refuses_a_target_kind_the_exporter_does_not_take(recorded):
    d = recorded
    with pytest.raises(Http404):
        services.export_run(exporter="visit_record_docx", user=d.users["principal_a"],
                            target=ExportTarget("school", d.school_a.pk), request_ip="10.0.0.1")
    log = ExportLog.objects.get()
    assert (log.outcome, log.client_ip) == ("denied", "10.0.0.1")


def test_export_run_from_a_service_caller(recorded):
    """The same function serves pages, API and any other caller (a command, a task)."""
    d = recorded
    result = services.export_run(exporter="visit_record_docx", user=d.users["principal_a"],
                                 target=ExportTarget("visit", d.visit_a1.pk), request_ip="")
    assert result.filename.endswith(".docx") and result.filename.startswith("测试实验小学")
    assert "李思" in docx_text(result.data)
    assert result.log.client_ip is None and result.log.row_count == 1


# --- links ----------------------------------------------------------------------------------------

def test_download_links_on_the_visit_and_coverage_pages(recorded, client):
    """R12: the record's page and the visit page link the Word file once the visit is recorded;
    the class to-do, school and bureau coverage pages link their ledger."""
    d = recorded
    c = d.campaign.pk
    docx_link = f"/exports/visits/{d.visit_a1.pk}/record.docx"
    pages = [
        ("head_a1", f"/visits/{d.visit_a1.pk}/record/", docx_link),
        ("principal_a", f"/visits/{d.visit_a1.pk}/", docx_link),
        ("head_a1", f"/classes/{d.class_a1.pk}/todo/?campaign={c}",
         f"/exports/ledger.xlsx?campaign={c}&amp;class={d.class_a1.pk}"),
        ("principal_a", f"/schools/{d.school_a.pk}/coverage/?campaign={c}",
         f"/exports/ledger.xlsx?campaign={c}&amp;school={d.school_a.pk}"),
        ("bureau_officer", f"/campaigns/{c}/coverage/", f"/exports/ledger.xlsx?campaign={c}"),
    ]
    for persona, url, link in pages:
        response = _get(client, d.users[persona], url)
        assert response.status_code == 200, url
        assert f'href="{link}"' in response.content.decode(), url
