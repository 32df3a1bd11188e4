"""The Word record and the Excel ledger as a user gets them (R12, R24, R23.10; SECURITY.md B4,
B5, B6, D1, E7, E8): files opened with python-docx and openpyxl, scope, masking, formulas."""

from io import BytesIO
from urllib.parse import quote

import docx
import openpyxl
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from docx.oxml.ns import qn

from jiafang.campaigns.defaults import FIXED_FIELDS
from jiafang.campaigns.selectors import record_form_fields
from jiafang.campaigns.services import campaign_field_add
from jiafang.exports.registry import DOCX, FORMULA_STARTS, XLSX
from jiafang.exports.tests.helpers import docx_text, xlsx_rows
from jiafang.visits.services import visit_record_submit, visit_schedule
from jiafang.visits.tests.conftest import at, record_kwargs
from jiafang.visits.tests.test_query_counts import grow

pytestmark = pytest.mark.usefixtures("scoped")

XSS = ('<script>alert(1)</script>"><img src=x onerror=alert(1)> '
       'javascript:alert(1) <a hx-get="/x" hx-on:click="alert(1)">x</a>')
HYPERLINK = '=HYPERLINK("http://evil.example/","点我")'
PHONES = ["13812345678", "13900001111", "13700002222", "13600003333"]
GUARDIANS = ["王建国", "李红", "赵刚", "陈明"]
TAIL = ["家访内容", "四进家庭", "跟进措施", "学生评价（优点、不足、改进方法）", "计入覆盖率",
        "记录状态", "提交时间"]


def _record(d, campaign, family, lead, when, companions=(), **changes):
    visit = visit_schedule(campaign=campaign, family=d.families[family], lead=d.users[lead],
                           companions=[d.users[c] for c in companions], scheduled_at=when,
                           duration_minutes=60, form="in_person", by=d.users[lead]).visit
    visit_record_submit(visit=visit, **record_kwargs(visit, visited_at=when, **changes))
    return visit


@pytest.fixture
def scenario(district, campaign):
    """Four records: the sibling family (children in 3(1) and 3(2), with a companion, an XSS
    payload), a 3(1) family with formula payloads, a 3(2) phone visit, a school B family."""
    d = district
    officer = d.users["bureau_officer"]
    reflection = campaign_field_add(campaign=campaign, by=officer, label="家访反思", kind="text")
    again = campaign_field_add(campaign=campaign, by=officer, label="是否需要再访",
                               kind="yes_no")
    d.keys = (reflection.key, again.key)
    d.siblings = _record(d, campaign, "siblings", "head_a1", at(4, 10, 17),
                         companions=["subject_a1"], process=XSS,
                         preparation="了解孩子近期在校表现，准备表扬点",
                         extra={reflection.key: "孩子在家很懂事", again.key: True})
    d.formulas = _record(d, campaign, "a1_only", "head_a1", at(4, 12, 17),
                         preparation=HYPERLINK, process="+1 家长很配合", follow_up="-1",
                         parent_demands=[("=1+1", None)],
                         extra={reflection.key: "@SUM(A1:A2)"})
    d.phone = _record(d, campaign, "a2_only", "head_a2", at(4, 14, 17), form="phone")
    d.school_b_visit = _record(d, campaign, "b", "head_b1", at(4, 16, 17))
    d.campaign = campaign
    return d


def _get(client, user, url, status=200):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response


def _docx_url(visit) -> str:
    return f"/exports/visits/{visit.pk}/record.docx"


def _ledger_url(d, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"campaign": d.campaign.pk, **params}.items())
    return f"/exports/ledger.xlsx?{query}"


# --- Word: one record in the layout of 附件2 ---------------------------------------------------

def test_word_record_has_the_annex2_form_with_the_schools_name_and_what_was_typed(scenario,
                                                                               client):
    """R12, R24: A4 portrait, "<学校>家访记录表" as title, the eleven fixed labels in a bordered
    table arranged as on paper, the typed texts, the extra fields, each child's three parts,
    the contents and 进家庭 items covered, follow-up and the no-gifts affirmation."""
    d = scenario
    response = _get(client, d.users["head_a1"], _docx_url(d.siblings))
    assert response["Content-Type"] == DOCX
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment; filename=\"jiafang-visit-record-docx-")
    assert "filename*=UTF-8''" + quote("测试实验小学家访记录表") in disposition
    assert "no-store" in response["Cache-Control"]

    document = docx.Document(BytesIO(response.content))
    assert document.paragraphs[0].text == "测试实验小学家访记录表"
    assert document.core_properties.title == "测试实验小学家访记录表"
    section = document.sections[0]
    assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297
    assert section.page_height > section.page_width  # portrait
    fonts = document.styles["Normal"].element.rPr.rFonts
    assert fonts.get(qn("w:eastAsia")) == "宋体"
    table = document.tables[0]
    assert table.style.name == "Table Grid"
    first = [c.text for c in table.rows[0].cells]
    # the lead visited the family: both children, as on the visit and record pages
    assert first == ["教师姓名", "head_a1", "班级", "三年级(1)班、三年级(2)班", "学生姓名",
                     "王小明、王小红"]
    assert [c.text for c in table.rows[1].cells][:3] == ["家长姓名", "王建国", "同行教师"]

    text = docx_text(response.content)
    for field in FIXED_FIELDS:
        assert field.label in text, field.label
    for typed in ("了解孩子近期在校表现，准备表扬点", XSS, "家访反思", "孩子在家很懂事",
                  "是否需要再访", "王小明乐于助人", "作业拖拉", "每天固定时间完成作业",
                  "希望多关注孩子的数学", "下周电话回访", "subject_a1", "2025-04-10 17:00",
                  "上门家访", "☑ 了解家庭情况", "☐ 反馈在校表现", "☑ 家庭教育指导进家庭",
                  "☑ 未接受家长宴请和礼品"):
        assert typed in text, typed
    assert "王小红乐于助人" in text


@pytest.mark.parametrize(("persona", "guardian", "children"), [
    ("principal_a", "王建国", ["王小明", "王小红"]),
    ("head_a2", "王建国", ["王小红"]),
    ("subject_a1", "王**", ["王小明", "王小红"]),  # the companion visited them both
    ("bureau_officer", "王**", ["王小明", "王小红"]),
    ("mental_a", "王**", ["王小红"]),  # the flagged child only
])
def test_word_record_masks_the_parent_name_for_roles_without_contacts(scenario, client, persona,
                                                                     guardian, children):
    """R23.10, B6: 家长姓名 in full only for leaders and head teachers; the children shown are
    those the reader may see; no phone, address or focus reason in the file."""
    d = scenario
    text = docx_text(_get(client, d.users[persona], _docx_url(d.siblings)).content)
    assert f"\n{guardian}\n" in text
    if guardian.endswith("**"):
        assert "王建国" not in text
    for name in ("王小明", "王小红"):
        assert (name in text) == (name in children), name
    for secret in [*PHONES, "塘桥路18号", "塘桥社区", "父母在外务工", "情绪低落"]:
        assert secret not in text


def test_word_record_out_of_scope_or_unrecorded_is_answered_like_a_missing_visit(scenario,
                                                                               client):
    """B4, B5: another school's teacher, another class's teacher, the safety officer and a visit
    without a record get exactly what a non-existent id gets, on the page and in the API."""
    d = scenario
    missing = "/exports/visits/987654/record.docx"
    unrecorded = visit_schedule(campaign=d.campaign, family=d.families["siblings"],
                                lead=d.users["head_a1"], scheduled_at=at(5, 20, 18),
                                by=d.users["head_a1"]).visit
    for persona, visit in (("head_b1", d.siblings), ("head_a2", d.formulas),
                           ("safety_a", d.siblings), ("head_a1", unrecorded)):
        user = d.users[persona]
        denied = _get(client, user, _docx_url(visit), status=404)
        assert denied.content == _get(client, user, missing, status=404).content
        api = _get(client, user, f"/api/v1{_docx_url(visit)}", status=404)
        assert api.content == _get(client, user, f"/api/v1{missing}", status=404).content


# --- Excel: the 台账 --------------------------------------------------------------------------

def _header(d) -> list[str]:
    return [f.label for f in record_form_fields(d.campaign)] + TAIL


def _all_text(rows) -> str:
    return "\n".join(str(v) for row in rows for v in row if v is not None)


def test_class_ledger_has_one_row_per_record_of_the_class_and_nothing_else(scenario, client):
    """R12, R24, B5: the head teacher's ledger of 3(1): the 附件2 columns in order, the extra
    fields by label, then contents, 进家庭, follow-up, evaluation, counted, status; one row per
    record naming a child of the class; nothing of 3(2) or school B."""
    d = scenario
    response = _get(client, d.users["head_a1"], _ledger_url(d, **{"class": d.class_a1.pk}))
    assert response["Content-Type"] == XLSX
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    book = openpyxl.load_workbook(BytesIO(response.content))
    sheet = book.active
    assert sheet.title == "家访台账"
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["J"].width == 48  # 家访过程
    rows = xlsx_rows(response.content)
    header = rows[0]
    assert header == _header(d)
    assert header[:11] == [f.label for f in FIXED_FIELDS]
    assert header[11:13] == ["家访反思", "是否需要再访"]
    assert len(rows) == 3
    sib = dict(zip(header, rows[1], strict=True))
    assert sib["学校"] == "测试实验小学" and sib["教师姓名"] == "head_a1"
    # head_a1 led that visit: its record names both children, the sibling in 3(2) too
    assert sib["班级"] == "三年级(1)班、三年级(2)班"
    assert sib["学生姓名"] == "王小明、王小红"
    assert sib["家长姓名"] == "王建国" and sib["同行教师"] == "subject_a1"
    assert sib["家访时间"].strftime("%Y-%m-%d %H:%M") == "2025-04-10 17:00"
    assert sib["家访形式"] == "上门家访"
    assert sib["家访反思"] == "孩子在家很懂事" and sib["是否需要再访"] == "是"
    assert sib["家访内容"] == "了解家庭情况" and sib["四进家庭"] == "家庭教育指导进家庭"
    assert sib["计入覆盖率"] == "是" and sib["记录状态"] == "已提交"
    assert sib["学生评价（优点、不足、改进方法）"].startswith("王小明：优点：王小明乐于助人")
    assert dict(zip(header, rows[2], strict=True))["学生姓名"] == "李思"
    text = _all_text(rows)
    for other in ("赵一", "赵刚", "陈晨", "陈明", "测试初级中学"):
        assert other not in text, other


def test_school_ledger_holds_the_schools_records_and_campaign_ledger_every_school(scenario,
                                                                                client):
    """R12: the principal's ledger holds school A's three records (the phone visit not
    counted); the officer's campaign ledger all four, parent names masked (B6)."""
    d = scenario
    rows = xlsx_rows(_get(client, d.users["principal_a"],
                          _ledger_url(d, school=d.school_a.pk)).content)
    header = rows[0]
    by_student = {r[header.index("学生姓名")]: dict(zip(header, r, strict=True))
                  for r in rows[1:]}
    assert set(by_student) == {"王小明、王小红", "李思", "赵一"}
    assert by_student["赵一"]["家长姓名"] == "赵刚"
    assert by_student["赵一"]["家访形式"] == "电话" and by_student["赵一"]["计入覆盖率"] == "否"
    assert "陈晨" not in _all_text(rows)

    rows = xlsx_rows(_get(client, d.users["bureau_officer"], _ledger_url(d)).content)
    assert len(rows) == 5
    guardians = [r[header.index("家长姓名")] for r in rows[1:]]
    assert guardians == ["王**", "李**", "赵**", "陈**"]
    text = _all_text(rows)
    for name in GUARDIANS:
        assert name not in text


@pytest.mark.parametrize(("persona", "params", "missing"), [
    ("head_a2", lambda d: {"class": d.class_a1.pk}, {"class": 987654}),
    ("head_b1", lambda d: {"class": d.class_a1.pk}, {"class": 987654}),
    ("head_a1", lambda d: {"school": d.school_a.pk}, {"school": 987654}),
    ("principal_b", lambda d: {"school": d.school_a.pk}, {"school": 987654}),
    ("principal_a", lambda d: {}, {"campaign": 987654}),
    ("other_officer", lambda d: {}, {"campaign": 987654}),
])
def test_ledger_out_of_scope_is_answered_like_a_missing_id(scenario, client, persona, params,
                                                           missing):
    """B4, B5, B10: another class's or school's staff, a teacher asking for the whole school, a
    principal asking for the whole campaign: exactly the answer of a non-existent id."""
    d = scenario
    user = d.users[persona]
    denied = _get(client, user, _ledger_url(d, **params(d)), status=404)
    assert denied.content == _get(client, user, _ledger_url(d, **missing), status=404).content


def test_no_guardian_phone_address_or_focus_reason_in_any_export(scenario, client):
    """B6, R23.10: every export of every reader, scanned as text (inside the zip)."""
    import zipfile

    d = scenario
    exports = [("head_a1", _ledger_url(d, **{"class": d.class_a1.pk})),
               ("principal_a", _ledger_url(d, school=d.school_a.pk)),
               ("bureau_officer", _ledger_url(d)),
               ("principal_a", _docx_url(d.siblings)), ("bureau_officer", _docx_url(d.phone)),
               ("coordinator_b", _docx_url(d.school_b_visit))]
    for persona, url in exports:
        content = _get(client, d.users[persona], url).content
        with zipfile.ZipFile(BytesIO(content)) as archive:
            xml = "".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())
        for secret in [*PHONES, "塘桥路18号", "塘桥社区", "遥观镇", "父母在外务工", "情绪低落",
                       "转学适应困难"]:
            assert secret not in xml, (persona, url, secret)


def test_formula_payloads_are_never_read_back_as_formulas(scenario, client):
    """E7: =HYPERLINK, +1, -1, @SUM and =1+1 typed into a record come back as plain text with a
    leading apostrophe; no cell of the ledger is a formula or starts like one."""
    d = scenario
    content = _get(client, d.users["principal_a"], _ledger_url(d, school=d.school_a.pk)).content
    sheet = openpyxl.load_workbook(BytesIO(content)).active
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type != "f", cell.coordinate
            if isinstance(cell.value, str):
                assert not cell.value.startswith(FORMULA_STARTS), (cell.coordinate, cell.value)
    rows = xlsx_rows(content)
    row = dict(zip(rows[0], rows[2], strict=True))
    assert row["家访准备"] == "'" + HYPERLINK
    assert row["家访过程"] == "'+1 家长很配合"
    assert row["跟进措施"] == "'-1"
    assert row["家长诉求"] == "'=1+1"
    assert row["家访反思"] == "'@SUM(A1:A2)"


def test_xss_payload_survives_as_plain_text(scenario, client):
    """D1: the payload typed into 家访过程 is the cell's and the Word table's text, unchanged."""
    d = scenario
    rows = xlsx_rows(_get(client, d.users["head_a1"],
                          _ledger_url(d, **{"class": d.class_a1.pk})).content)
    assert dict(zip(rows[0], rows[1], strict=True))["家访过程"] == XSS
    document = docx.Document(BytesIO(_get(client, d.users["head_a1"],
                                          _docx_url(d.siblings)).content))
    cells = {c.text for row in document.tables[0].rows for c in row.cells}
    assert XSS in cells


def test_ledger_query_count_stays_the_same_when_records_grow_tenfold(district, campaign,
                                                                     client):
    """Principle 6: the ledger of a class, a school and the campaign, and the Word record."""
    d = district
    grow(d, campaign, 4, 0)
    urls = [("head_a1", f"/exports/ledger.xlsx?campaign={campaign.pk}&class={d.class_a1.pk}"),
            ("coordinator_a", f"/exports/ledger.xlsx?campaign={campaign.pk}&school={d.school_a.pk}"),
            ("bureau_officer", f"/exports/ledger.xlsx?campaign={campaign.pk}")]

    def count(persona, url):
        client.force_login(d.users[persona])
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200
        return len(ctx.captured_queries), len(xlsx_rows(response.content))

    small = [count(p, u) for p, u in urls]
    grow(d, campaign, 40, 100)
    large = [count(p, u) for p, u in urls]
    assert [q for q, _rows in large] == [q for q, _rows in small]
    assert [rows for _q, rows in small] == [3, 3, 5]  # 2 + 2 per school, plus the header
    assert [rows for _q, rows in large] == [23, 23, 45]
