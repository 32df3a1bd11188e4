"""Campaigns (R2) and their record form (R24): defaults, rules, who may do what, pages, API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_scopes import scopes_disabled

from jiafang.campaigns.defaults import FIXED_FIELDS, VisitForm, campaign_defaults
from jiafang.campaigns.models import Campaign, CampaignField
from jiafang.campaigns.selectors import current_campaign, record_form_fields
from jiafang.campaigns.services import (
    campaign_create,
    campaign_field_add,
    campaign_field_move,
    campaign_field_remove,
    campaign_field_update,
    campaign_update,
)
from jiafang.conftest import make_campaign

pytestmark = pytest.mark.django_db

FIXED_LABELS = ["学校", "教师姓名", "班级", "学生姓名", "家长姓名", "同行教师", "家访时间",
                "家访形式", "家访准备", "家访过程", "家长诉求"]


def form_data(**changes) -> dict:
    values = campaign_defaults(dt.date(2027, 5, 1))
    data = {"name": values["name"], "counting_forms": ["in_person"], "all_schools": "on",
            **{k: values[k].isoformat() for k in ("starts_on", "ends_on", "plan_due_on",
                                                   "summary_due_on")}}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


# --- defaults and rules -------------------------------------------------------------------

@pytest.mark.parametrize("year", [2021, 2026, 2030])
def test_defaults_follow_the_notice_for_the_year(year):
    values = campaign_defaults(dt.date(year, 11, 29))
    assert values["starts_on"] == dt.date(year, 3, 1)
    assert values["ends_on"] == dt.date(year, 6, 30)
    assert values["plan_due_on"] == dt.date(year, 3, 31)
    assert values["summary_due_on"] == dt.date(year, 5, 10)
    assert values["counting_forms"] == [VisitForm.IN_PERSON]
    assert str(year) in values["name"]


def test_the_fixed_fields_are_the_eleven_of_attachment_2():
    assert [f.label for f in FIXED_FIELDS] == FIXED_LABELS
    assert len({f.key for f in FIXED_FIELDS}) == 11


@pytest.mark.parametrize(("changes", "field"), [
    ({"ends_on": dt.date(2027, 2, 1)}, "ends_on"),
    ({"plan_due_on": dt.date(2027, 7, 1)}, "plan_due_on"),
    ({"summary_due_on": dt.date(2027, 3, 15)}, "summary_due_on"),
    ({"summary_due_on": dt.date(2027, 12, 31)}, "summary_due_on"),
    ({"counting_forms": []}, "counting_forms"),
    ({"counting_forms": ["letter"]}, "counting_forms"),
    ({"name": "  "}, "name"),
    ({"all_schools": False}, "schools"),
])
def test_service_refuses_inconsistent_settings(district, changes, field):
    values = {**campaign_defaults(dt.date(2027, 1, 1)), **changes}
    with scopes_disabled(), pytest.raises(ValidationError) as caught:
        campaign_create(bureau=district.bureau, by=district.users["bureau_officer"], **values)
    assert field in caught.value.message_dict
    assert all("\u4e00" <= m[0] <= "\u9fff" for m in caught.value.message_dict[field])
    assert not Campaign.objects.exists()


def test_only_schools_of_the_bureau_may_take_part(district):
    values = campaign_defaults(dt.date(2027, 1, 1))
    with scopes_disabled():
        from jiafang.schools.models import School
        other_school = School.objects.get(code="C001")
        with pytest.raises(ValidationError) as caught:
            campaign_create(bureau=district.bureau, by=district.users["bureau_officer"],
                            all_schools=False, school_ids=[other_school.pk], **values)
        assert "schools" in caught.value.message_dict
        campaign = campaign_create(bureau=district.bureau, by=district.users["bureau_officer"],
                                   all_schools=False, school_ids=[district.school_a.pk], **values)
    assert list(campaign.participations.values_list("school_id", flat=True)) == [
        district.school_a.pk]


def test_current_is_the_running_one_else_the_latest_started(district):
    c2025 = make_campaign(district, today=dt.date(2025, 1, 1))
    c2026 = make_campaign(district, today=dt.date(2026, 1, 1))
    c2027 = make_campaign(district, today=dt.date(2027, 1, 1))
    campaigns = [c2025, c2026, c2027]
    assert current_campaign(campaigns, dt.date(2026, 4, 1)) == c2026
    assert current_campaign(campaigns, dt.date(2026, 11, 29)) == c2026  # between campaigns
    assert current_campaign(campaigns, dt.date(2027, 3, 2)) == c2027
    assert current_campaign(campaigns, dt.date(2024, 1, 1)) == c2025  # only upcoming ones
    c2026.archived = True
    assert current_campaign(campaigns, dt.date(2026, 4, 1)) == c2025


# --- pages: who may do what ----------------------------------------------------------------

def test_officer_creates_a_campaign_prefilled_with_the_defaults(district, client):
    client.force_login(district.users["bureau_officer"])
    page = client.get("/campaigns/new/").content.decode()
    year = timezone.localdate().year
    assert f'value="{year}-03-01"' in page and f'value="{year}-05-10"' in page
    response = client.post("/campaigns/new/", form_data(bureau=district.bureau.pk))
    assert response.status_code == 302
    campaign = Campaign.objects.get()
    assert response["Location"] == f"/campaigns/{campaign.pk}/"
    assert campaign.bureau == district.bureau
    assert campaign.created_by == district.users["bureau_officer"]
    assert campaign.starts_on == dt.date(2027, 3, 1)


def test_invalid_form_keeps_what_was_typed(district, client):
    client.force_login(district.users["bureau_officer"])
    response = client.post("/campaigns/new/", form_data(
        bureau=district.bureau.pk, name="我区2027年大家访", ends_on="2027-02-01"))
    assert response.status_code == 400
    body = response.content.decode()
    assert "结束日期必须晚于开始日期" in body
    assert 'value="我区2027年大家访"' in body and 'value="2027-02-01"' in body
    assert not Campaign.objects.exists()


def test_officer_edits_and_school_staff_only_read(district, client):
    campaign = make_campaign(district)
    client.force_login(district.users["city_officer"])  # a parent bureau's officer
    response = client.post(f"/campaigns/{campaign.pk}/edit/",
                           form_data(name="改过的名字", counting_forms=["in_person", "video"]))
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.name == "改过的名字"
    assert campaign.counting_forms == ["in_person", "video"]
    for persona in ("principal_a", "head_b1", "safety_a"):
        client.force_login(district.users[persona])
        detail = client.get(f"/campaigns/{campaign.pk}/")
        assert detail.status_code == 200
        assert "修改活动" not in detail.content.decode()
        assert client.get(f"/campaigns/{campaign.pk}/edit/").status_code == 403
        assert client.post(f"/campaigns/{campaign.pk}/edit/", form_data()).status_code == 403
        assert client.post(f"/campaigns/{campaign.pk}/fields/",
                           {"label": "x", "kind": "text"}).status_code == 403
    campaign.refresh_from_db()
    assert campaign.name == "改过的名字"


def test_another_bureau_sees_nothing(district, client):
    campaign = make_campaign(district)
    client.force_login(district.users["other_officer"])
    assert client.get(f"/campaigns/{campaign.pk}/").status_code == 404
    assert client.get(f"/campaigns/{campaign.pk}/edit/").status_code == 404
    assert campaign.name not in client.get("/campaigns/").content.decode()
    assert client.get(f"/api/v1/campaigns/{campaign.pk}").status_code == 404
    assert client.patch(f"/api/v1/campaigns/{campaign.pk}", {"name": "x"},
                        content_type="application/json").status_code == 404


def test_a_school_not_taking_part_does_not_see_the_campaign(district, client):
    campaign = make_campaign(district, all_schools=False, school_ids=[district.school_a.pk])
    client.force_login(district.users["principal_b"])
    assert client.get(f"/campaigns/{campaign.pk}/").status_code == 404
    client.force_login(district.users["head_a1"])
    assert client.get(f"/campaigns/{campaign.pk}/").status_code == 200


def test_list_shows_current_first_then_history(district, client):
    old = make_campaign(district, today=dt.date(2024, 1, 1), name="2024年大家访")
    current = make_campaign(district, name="本年大家访")
    client.force_login(district.users["coordinator_a"])
    body = client.get("/campaigns/").content.decode()
    assert body.index(current.name) < body.index("历年活动") < body.index(old.name)
    assert "新建家访活动" not in body
    school_page = client.get(f"/schools/{district.school_a.pk}/").content.decode()
    assert "本年度家访活动" in school_page and current.name in school_page


def test_bureau_overview_links_to_campaigns(district, client):
    client.force_login(district.users["bureau_officer"])
    assert 'href="/campaigns/"' in client.get("/schools/").content.decode()


# --- the record form --------------------------------------------------------------------------

def test_extra_fields_follow_the_fixed_ones_in_page_and_api(district, client):
    campaign = make_campaign(district)
    officer = district.users["bureau_officer"]
    client.force_login(officer)
    client.post(f"/campaigns/{campaign.pk}/fields/", {"label": "家访反思", "kind": "text"})
    client.post(f"/campaigns/{campaign.pk}/fields/",
                {"label": "跟进方式", "kind": "choice", "choices": "电话\n再次上门"})
    client.post(f"/campaigns/{campaign.pk}/fields/", {"label": "家长签名确认", "kind": "yes_no",
                                                      "required": "on"})
    labels = [f.label for f in record_form_fields(campaign)]
    assert labels == FIXED_LABELS + ["家访反思", "跟进方式", "家长签名确认"]
    client.force_login(district.users["head_a1"])
    body = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert body.count("固定") >= 11 and "家访反思" in body and "电话 / 再次上门" in body
    form = client.get(f"/api/v1/campaigns/{campaign.pk}").json()["form"]
    assert [f["label"] for f in form] == labels
    assert form[-1] == {"key": "extra_3", "label": "家长签名确认", "kind": "yes_no",
                        "choices": [], "required": True, "fixed": False}
    assert all(f["fixed"] for f in form[:11])


def test_field_edit_move_and_remove(district, client):
    campaign = make_campaign(district)
    officer = district.users["bureau_officer"]
    with scopes_disabled():
        first = campaign_field_add(campaign=campaign, by=officer, label="家访反思", kind="text")
        second = campaign_field_add(campaign=campaign, by=officer, label="跟进措施", kind="text")
    client.force_login(officer)
    assert client.get(f"/campaigns/{campaign.pk}/fields/{first.pk}/").status_code == 200
    response = client.post(f"/campaigns/{campaign.pk}/fields/{first.pk}/",
                           {"label": "家访反思与收获", "required": "on"})
    assert response.status_code == 302
    client.post(f"/campaigns/{campaign.pk}/fields/{second.pk}/move/", {"direction": "up"})
    extras = [f.label for f in record_form_fields(campaign) if not f.fixed]
    assert extras == ["跟进措施", "家访反思与收获"]
    client.post(f"/campaigns/{campaign.pk}/fields/{second.pk}/remove/")
    assert [f.label for f in record_form_fields(campaign) if not f.fixed] == ["家访反思与收获"]
    assert CampaignField.objects.get().required


def test_field_rules(district, client):
    campaign = make_campaign(district)
    officer = district.users["bureau_officer"]
    with scopes_disabled():
        with pytest.raises(ValidationError):
            campaign_field_add(campaign=campaign, by=officer, label="家长诉求", kind="text")
        with pytest.raises(ValidationError):
            campaign_field_add(campaign=campaign, by=officer, label="方式", kind="choice",
                               choices=["仅一项"])
        field = campaign_field_add(campaign=campaign, by=officer, label="反思", kind="text")
        with pytest.raises(ValidationError):
            campaign_field_add(campaign=campaign, by=officer, label="反思", kind="text")
        with pytest.raises(ValidationError):
            campaign_field_update(field=field, by=officer, label="")
        campaign_field_move(field=field, by=officer, up=True)  # already first: nothing moves
        campaign_field_remove(field=field, by=officer)
    client.force_login(officer)
    response = client.post(f"/campaigns/{campaign.pk}/fields/",
                           {"label": "跟进方式", "kind": "choice", "choices": "电话"})
    assert response.status_code == 400
    body = response.content.decode()
    assert "至少需要两个选项" in body and 'value="跟进方式"' in body


def test_update_keeps_what_is_not_given(district):
    campaign = make_campaign(district)
    with scopes_disabled():
        campaign_update(campaign=campaign, by=district.users["bureau_officer"], archived=True)
    campaign.refresh_from_db()
    assert campaign.archived and campaign.counting_forms == ["in_person"]


# --- API ------------------------------------------------------------------------------------

def test_api_create_with_defaults_and_patch(district, client):
    client.force_login(district.users["bureau_officer"])
    response = client.post("/api/v1/campaigns", {"starts_on": "2027-03-01"},
                           content_type="application/json")
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["ends_on"], data["plan_due_on"], data["summary_due_on"]) == (
        "2027-06-30", "2027-03-31", "2027-05-10")
    assert data["bureau_id"] == district.bureau.pk and data["counting_forms"] == ["in_person"]
    assert [f["label"] for f in data["form"]] == FIXED_LABELS
    patched = client.patch(f"/api/v1/campaigns/{data['id']}",
                           {"name": "2027年大家访（修订）", "counting_forms": ["in_person", "phone"]},
                           content_type="application/json")
    assert patched.status_code == 200
    assert patched.json()["name"] == "2027年大家访（修订）"
    assert patched.json()["counting_forms"] == ["in_person", "phone"]
    listing = client.get("/api/v1/campaigns").json()
    assert listing["count"] == 1 and listing["items"][0]["id"] == data["id"]


def test_api_validation_answers_422_in_chinese(district, client):
    campaign = make_campaign(district)
    client.force_login(district.users["bureau_officer"])
    response = client.post("/api/v1/campaigns", {"starts_on": "2027-03-01",
                                                 "ends_on": "2027-01-01"},
                           content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"]["ends_on"] == ["结束日期必须晚于开始日期。"]
    response = client.patch(f"/api/v1/campaigns/{campaign.pk}", {"plan_due_on": "2099-01-01"},
                            content_type="application/json")
    assert response.status_code == 422
    assert "方案报送截止" in response.json()["detail"]
    assert Campaign.objects.count() == 1


def test_api_school_roles_read_but_may_not_write(district, client):
    campaign = make_campaign(district)
    client.force_login(district.users["head_a1"])
    assert client.get(f"/api/v1/campaigns/{campaign.pk}").status_code == 200
    assert client.get("/api/v1/campaigns").json()["items"][0]["is_current"] is True
    assert client.post("/api/v1/campaigns", {}, content_type="application/json").status_code == 403
    assert client.patch(f"/api/v1/campaigns/{campaign.pk}", {"name": "x"},
                        content_type="application/json").status_code == 403
    client.force_login(district.users["other_officer"])
    assert client.post("/api/v1/campaigns", {"bureau_id": district.bureau.pk},
                       content_type="application/json").status_code == 404
