"""The visits API (issue 3 points 4, 6, 10; SECURITY.md B8, G2, G3)."""

import json

import pytest
from django_scopes import scopes_disabled

from jiafang.visits.models import IdempotencyKey, ParentDemand, Visit, VisitRecord
from jiafang.visits.tests.test_pages import propose

API = "/api/v1/visits"


def post(client, url, data, **headers):
    return client.post(url, json.dumps(data), content_type="application/json", headers=headers)


def patch(client, url, data, **headers):
    return client.patch(url, json.dumps(data), content_type="application/json", headers=headers)


def schedule_body(district, **changes):
    body = {"family_id": district.families["siblings"].pk,
            "scheduled_at": "2025-04-15T10:00:00+08:00", "duration_minutes": 60,
            "companion_ids": [district.users["subject_a1"].pk]}
    body.update(changes)
    return body


def record_body(district, family="siblings", **changes):
    with scopes_disabled():
        children = {str(s.pk): {"strengths": f"{s.name}乐于助人", "shortcomings": "作业拖拉",
                                "methods": "固定时间完成作业"}
                    for s in district.families[family].students.filter(status="enrolled")}
    body = {"visited_at": "2025-04-15T17:00:00+08:00", "form": "in_person",
            "preparation": "准备表扬点", "process": "交流一小时",
            "parent_demands": [{"text": "多关注数学", "category": "study"}, {"text": "减少作业"}],
            "contents": ["family_situation"], "into_family": ["family_education"],
            "children": children, "no_gifts_affirmed": True}
    body.update(changes)
    return body


def test_schedule_returns_warnings_and_ignores_server_owned_fields(district, campaign, login):
    client = login(district.users["head_a1"])
    body = schedule_body(district, school=district.school_b.pk, version=99, created_by=1,
                         status="done")
    response = post(client, API, body)
    assert response.status_code == 201, response.content
    data = response.json()
    assert [w["code"] for w in data["warnings"]] == ["teaching_hours"]
    assert data["visit"]["lead"]["id"] == district.users["head_a1"].pk  # default lead
    assert data["visit"]["school_id"] == district.school_a.pk
    assert data["visit"]["version"] == 1 and data["visit"]["status"] == "proposed"
    with scopes_disabled():
        visit = Visit.objects.get()
        assert visit.created_by == district.users["head_a1"]


def test_idempotency_key_same_body_same_answer_one_row(district, campaign, login):
    client = login(district.users["head_a1"])
    first = post(client, API, schedule_body(district), **{"Idempotency-Key": "k-1"})
    again = post(client, API, schedule_body(district), **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and again["Idempotent-Replayed"] == "true"
    with scopes_disabled():
        assert Visit.objects.count() == 1
    other = post(client, API, schedule_body(district, duration_minutes=90),
                 **{"Idempotency-Key": "k-1"})
    assert other.status_code == 422 and "Idempotency-Key" in other.json()["detail"]
    with scopes_disabled():
        assert Visit.objects.count() == 1
    # without a key: allowed, a second row
    assert post(client, API, schedule_body(district)).status_code == 201
    with scopes_disabled():
        assert Visit.objects.count() == 2
    # keys are per user
    coordinator = login(district.users["coordinator_a"])
    assert post(coordinator, API, schedule_body(district, lead_id=district.users["head_a1"].pk),
                **{"Idempotency-Key": "k-1"}).status_code == 201
    assert IdempotencyKey.objects.count() == 2


def test_validation_error_is_422_in_chinese(district, campaign, login):
    client = login(district.users["head_a1"])
    response = post(client, API, schedule_body(district, duration_minutes=1,
                                               lead_id=district.users["head_b1"].pk))
    assert response.status_code == 422
    data = response.json()
    assert "家访教师必须是本校教职工。" in data["errors"]["lead"]
    assert "预计时长" in data["errors"]["duration_minutes"][0]
    assert data["detail"]


def test_record_then_amend_with_if_match(district, campaign, login):
    visit = propose(district, campaign)
    client = login(district.users["head_a1"])
    url = f"{API}/{visit.pk}/record"
    response = post(client, url, record_body(district, counts=False, version=7),
                    **{"Idempotency-Key": "rec-1"})
    assert response.status_code == 201, response.content
    assert response["ETag"] == '"1"' and response.json()["counts"] is True
    assert len(response.json()["children"]) == 2
    again = post(client, url, record_body(district, counts=False, version=7),
                 **{"Idempotency-Key": "rec-1"})
    assert again.status_code == 201 and again.json() == response.json()
    with scopes_disabled():
        assert VisitRecord.objects.count() == 1 and ParentDemand.objects.count() == 2
    # PATCH needs If-Match
    assert patch(client, url, {"process": "改"}).status_code == 428
    ok = patch(client, url, {"process": "修改后的过程"}, **{"If-Match": '"1"'})
    assert ok.status_code == 200 and ok["ETag"] == '"2"'
    stale = patch(client, url, {"process": "别人的修改"}, **{"If-Match": '"1"'})
    assert stale.status_code == 412 and stale["ETag"] == '"2"'
    with scopes_disabled():
        assert VisitRecord.objects.get().process == "修改后的过程"
    # the visit's ETag
    detail = client.get(f"{API}/{visit.pk}")
    assert detail.status_code == 200 and detail["ETag"] == '"2"'
    assert detail.json()["record"]["version"] == 2


def test_record_missing_methods_is_422_and_writes_nothing(district, campaign, login):
    visit = propose(district, campaign)
    client = login(district.users["head_a1"])
    body = record_body(district)
    first_child = next(iter(body["children"]))
    body["children"][first_child]["methods"] = ""
    response = post(client, f"{API}/{visit.pk}/record", body)
    assert response.status_code == 422
    assert f"children.{first_child}" in response.json()["errors"]
    assert "改进方法" in response.json()["errors"][f"children.{first_child}"][0]
    with scopes_disabled():
        assert VisitRecord.objects.count() == 0


def test_state_changes_and_if_match(district, campaign, login):
    visit = propose(district, campaign)
    client = login(district.users["head_a1"])
    assert post(client, f"{API}/{visit.pk}/confirm", {}, **{"If-Match": '"5"'}).status_code == 412
    response = post(client, f"{API}/{visit.pk}/confirm", {}, **{"If-Match": '"1"'})
    assert response.status_code == 200 and response.json()["visit"]["status"] == "confirmed"
    response = post(client, f"{API}/{visit.pk}/reschedule",
                    {"scheduled_at": "2025-04-20T18:00:00+08:00"})
    assert response.status_code == 200 and response.json()["visit"]["status"] == "proposed"
    assert post(client, f"{API}/{visit.pk}/decline", {"reason": " "}).status_code == 422
    response = post(client, f"{API}/{visit.pk}/decline", {"reason": "家长不便"})
    assert response.status_code == 200 and response.json()["visit"]["status"] == "declined"
    assert post(client, f"{API}/{visit.pk}/cancel", {"reason": "x"}).status_code == 422


def test_list_filters_and_scope(district, campaign, login):
    propose(district, campaign)
    propose(district, campaign, family="a2_only", lead="head_a2")
    head = login(district.users["head_a1"])
    data = head.get(API).json()
    assert data["count"] == 1  # the sibling family only
    principal = login(district.users["principal_a"])
    assert principal.get(API).json()["count"] == 2
    assert principal.get(f"{API}?class={district.class_a2.pk}").json()["count"] == 2
    assert principal.get(f"{API}?status=confirmed").json()["count"] == 0
    assert principal.get(f"{API}?campaign={campaign.pk}&school={district.school_a.pk}"
                         ).json()["count"] == 2
    assert login(district.users["head_b1"]).get(API).json()["count"] == 0


@pytest.mark.parametrize(("persona", "status"), [
    ("head_b1", 404), ("subject_a1", 403), ("mental_a", 403), ("head_a1", 201)])
def test_record_permissions(district, campaign, login, persona, status):
    visit = propose(district, campaign, family="a1_only")
    response = post(login(district.users[persona]), f"{API}/{visit.pk}/record",
                    record_body(district, family="a1_only"))
    assert response.status_code == status
