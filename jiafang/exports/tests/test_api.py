"""The export API (R12, R24): the same files as the pages, with a token or a session; 404 like a
missing id; documented as binary answers."""

from io import BytesIO

import docx
import pytest
from django_scopes import scopes_disabled

from jiafang.accounts.services import token_create
from jiafang.exports.models import ExportLog
from jiafang.exports.registry import DOCX, XLSX
from jiafang.exports.tests.helpers import xlsx_rows
from jiafang.visits.tests.conftest import schedule_and_record

pytestmark = pytest.mark.usefixtures("scoped")


@pytest.fixture
def recorded(district, campaign):
    district.visit, _record = schedule_and_record(district, campaign, district.families["a1_only"])
    district.campaign = campaign
    return district


def test_token_holder_downloads_the_word_record_and_the_class_ledger(recorded, client):
    d = recorded
    with scopes_disabled():
        _token, raw = token_create(user=d.users["head_a1"], name="脚本")
    auth = {"Authorization": f"Bearer {raw}"}
    response = client.get(f"/api/v1/exports/visits/{d.visit.pk}/record.docx", headers=auth)
    assert response.status_code == 200 and response["Content-Type"] == DOCX
    assert docx.Document(BytesIO(response.content)).paragraphs[0].text == "测试实验小学家访记录表"
    response = client.get(f"/api/v1/exports/ledger.xlsx?class={d.class_a1.pk}", headers=auth)
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    rows = xlsx_rows(response.content)
    assert len(rows) == 2 and rows[1][3] == "李思"  # the current campaign of the school
    assert list(ExportLog.objects.values_list("via", "outcome")) == [("api", "ok")] * 2


def test_api_answers_out_of_scope_like_missing_and_401_without_auth(recorded, client):
    d = recorded
    url = f"/api/v1/exports/visits/{d.visit.pk}/record.docx"
    assert client.get(url).status_code == 401
    client.force_login(d.users["head_b1"])
    denied = client.get(url)
    missing = client.get("/api/v1/exports/visits/987654/record.docx")
    assert denied.status_code == missing.status_code == 404
    assert denied.content == missing.content
    ledger = client.get(f"/api/v1/exports/ledger.xlsx?campaign={d.campaign.pk}"
                        f"&school={d.school_a.pk}")
    assert ledger.status_code == 404


def test_openapi_documents_binary_answers(district, client):
    client.force_login(district.users["principal_a"])
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    docx_op = paths["/api/v1/exports/visits/{visit_id}/record.docx"]["get"]
    assert DOCX in docx_op["responses"]["200"]["content"]
    ledger_op = paths["/api/v1/exports/ledger.xlsx"]["get"]
    assert XLSX in ledger_op["responses"]["200"]["content"]
    assert {p["name"] for p in ledger_op["parameters"]} == {"campaign", "school", "class"}
    assert {"404", "429"} <= set(ledger_op["responses"])
