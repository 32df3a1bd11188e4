"""Teaching hours as campaign data (R8, R17 "利用课余时间"; ARCHITECTURE principle 3) and the
record form's extra fields through the API (R24)."""

from __future__ import annotations

import pytest

from jiafang.campaigns.services import campaign_update
from jiafang.visits.services import visit_schedule
from jiafang.visits.tests import conftest as visit_fixtures
from jiafang.visits.tests.conftest import at, schedule_and_record

campaign = visit_fixtures.campaign  # the visit tests' 2025 campaign and request-like scope
scoped = visit_fixtures.scoped

pytestmark = pytest.mark.usefixtures("scoped")


def _warnings(district, campaign, when) -> set[str]:
    result = visit_schedule(campaign=campaign, family=district.families["a1_only"],
                            lead=district.users["head_a1"], scheduled_at=when,
                            duration_minutes=30, by=district.users["head_a1"])
    return {w.code for w in result.warnings}


def test_a_campaign_starts_with_the_notices_teaching_hours_and_warns_by_its_own(
        district, campaign):
    assert campaign.teaching_hours == {"weekdays": [0, 1, 2, 3, 4],
                                       "periods": [["08:00", "11:40"], ["13:30", "16:30"]]}
    monday_noon = at(4, 14, 11, 50)  # 2025-04-14 is a Monday
    assert "teaching_hours" not in _warnings(district, campaign, monday_noon)
    campaign_update(campaign=campaign, by=district.users["bureau_officer"],
                    teaching_hours={"weekdays": [0, 1, 2, 3, 4, 5],
                                    "periods": [["08:00", "12:00"]]})
    campaign.refresh_from_db()
    assert "teaching_hours" in _warnings(district, campaign, at(4, 14, 11, 50))
    assert "teaching_hours" in _warnings(district, campaign, at(4, 19, 9))  # a Saturday now


def test_officer_sets_teaching_hours_in_the_form_and_the_page_shows_them(
        district, campaign, client):
    client.force_login(district.users["bureau_officer"])
    page = client.get(f"/campaigns/{campaign.pk}/edit/").content.decode()
    assert 'value="08:00-11:40, 13:30-16:30"' in page
    data = {"name": campaign.name, "starts_on": "2025-03-01", "ends_on": "2025-06-30",
            "plan_due_on": "2025-03-31", "summary_due_on": "2025-05-10",
            "counting_forms": ["in_person"], "all_schools": "on",
            "teaching_days": ["0", "2", "4"], "teaching_periods": "8:00-12:00，14:00-17:30"}
    response = client.post(f"/campaigns/{campaign.pk}/edit/", data)
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.teaching_hours == {"weekdays": [0, 2, 4],
                                       "periods": [["08:00", "12:00"], ["14:00", "17:30"]]}
    detail = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "周一、周三、周五 08:00–12:00、14:00–17:30" in detail


def test_a_wrong_period_is_refused_and_what_was_typed_is_kept(district, campaign, client):
    client.force_login(district.users["bureau_officer"])
    data = {"name": campaign.name, "starts_on": "2025-03-01", "ends_on": "2025-06-30",
            "plan_due_on": "2025-03-31", "summary_due_on": "2025-05-10",
            "counting_forms": ["in_person"], "all_schools": "on",
            "teaching_days": ["0"], "teaching_periods": "12:00-08:00"}
    response = client.post(f"/campaigns/{campaign.pk}/edit/", data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "上课时段的开始时间必须早于结束时间" in html and 'value="12:00-08:00"' in html
    campaign.refresh_from_db()
    assert campaign.teaching_hours["periods"] == [["08:00", "11:40"], ["13:30", "16:30"]]


def test_api_reads_and_changes_teaching_hours(district, campaign, client):
    client.force_login(district.users["bureau_officer"])
    url = f"/api/v1/campaigns/{campaign.pk}"
    assert client.get(url).json()["teaching_hours"]["weekdays"] == [0, 1, 2, 3, 4]
    hours = {"weekdays": [1], "periods": [["09:00", "10:00"]]}
    body = client.patch(url, {"teaching_hours": hours}, content_type="application/json").json()
    assert body["teaching_hours"] == hours
    bad = client.patch(url, {"teaching_hours": {"weekdays": [9], "periods": []}},
                       content_type="application/json")
    assert bad.status_code == 422 and "上课时间无效" in bad.json()["detail"]
    campaign.refresh_from_db()
    assert campaign.teaching_hours == hours


def test_api_adds_changes_and_removes_an_extra_field(district, campaign, client):
    client.force_login(district.users["bureau_officer"])
    base = f"/api/v1/campaigns/{campaign.pk}/fields"
    created = client.post(base, {"label": "跟进措施", "kind": "choice",
                                 "choices": ["电话回访", "再次家访"]},
                          content_type="application/json")
    assert created.status_code == 201
    key = created.json()["key"]
    form = client.get(f"/api/v1/campaigns/{campaign.pk}").json()["form"]
    assert [f["label"] for f in form][-1] == "跟进措施"
    changed = client.patch(f"{base}/{key}", {"label": "跟进方式", "choices": ["电话回访", "到校面谈"],
                                             "required": True},
                           content_type="application/json")
    assert changed.json()["label"] == "跟进方式" and changed.json()["required"] is True
    assert client.delete(f"{base}/{key}").status_code == 204
    assert client.delete(f"{base}/{key}").status_code == 404


def test_a_field_a_record_holds_a_value_for_cannot_be_removed(district, campaign, client):
    """R24: removing it would drop what teachers wrote from the ledger and the Word record."""
    client.force_login(district.users["bureau_officer"])
    key = client.post(f"/api/v1/campaigns/{campaign.pk}/fields",
                      {"label": "家访反思", "kind": "text"},
                      content_type="application/json").json()["key"]
    schedule_and_record(district, campaign, district.families["a1_only"],
                        extra={key: "孩子很腼腆，下次多鼓励"})
    refused = client.delete(f"/api/v1/campaigns/{campaign.pk}/fields/{key}")
    assert refused.status_code == 422 and "不能删除" in refused.json()["detail"]
    field_pk = campaign.extra_fields.get(key=key).pk
    page = client.post(f"/campaigns/{campaign.pk}/fields/{field_pk}/remove/", follow=True)
    assert "不能删除" in page.content.decode()
    assert campaign.extra_fields.filter(key=key).exists()


@pytest.mark.parametrize(("persona", "status"), [("principal_a", 403), ("other_officer", 404)])
def test_only_the_bureau_changes_fields(persona, status, district, campaign, client):
    client.force_login(district.users[persona])
    response = client.post(f"/api/v1/campaigns/{campaign.pk}/fields",
                           {"label": "家访反思", "kind": "text"}, content_type="application/json")
    assert response.status_code == status
    assert not campaign.extra_fields.exists()
