"""JSON API v1: shapes, pagination, filters, auth on every operation (issue point 6)."""

import pytest
from django_scopes import scopes_disabled

from jiafang.schools.models import Student


@pytest.fixture
def coordinator(district, client):
    client.force_login(district.users["coordinator_a"])
    return client


def test_every_operation_requires_auth_in_the_schema(client, district):
    client.force_login(district.users["head_a1"])
    schema = client.get("/api/v1/openapi.json").json()
    operations = [(path, method, op) for path, item in schema["paths"].items()
                  for method, op in item.items()]
    assert len(operations) >= 8
    for path, method, op in operations:
        assert op.get("security"), f"{method.upper()} {path} has no auth"


def test_lists_are_paginated_with_items_and_count(coordinator, district):
    page = coordinator.get("/api/v1/students?limit=2&offset=0").json()
    assert set(page) == {"items", "count"}
    assert page["count"] == 4 and len(page["items"]) == 2
    rest = coordinator.get("/api/v1/students?limit=2&offset=2").json()
    first_ids = {s["id"] for s in page["items"]}
    assert first_ids.isdisjoint({s["id"] for s in rest["items"]})
    assert len(rest["items"]) == 2


def test_student_filters(coordinator, district):
    by_class = coordinator.get(f"/api/v1/students?class={district.class_a2.pk}").json()
    assert {s["name"] for s in by_class["items"]} == {"王小红", "赵一"}
    by_category = coordinator.get("/api/v1/students?category=mental_health").json()
    assert [s["name"] for s in by_category["items"]] == ["李思"]
    assert by_category["items"][0]["focus"][0]["name"] == "心理健康有困难的学生"
    by_name = coordinator.get("/api/v1/students?q=王").json()
    assert {s["name"] for s in by_name["items"]} == {"王小明", "王小红"}
    unknown = coordinator.get("/api/v1/students?category=nope").json()
    assert unknown == {"items": [], "count": 0}
    other_school = coordinator.get(f"/api/v1/students?school={district.school_b.pk}").json()
    assert other_school["count"] == 0  # filtered inside the scope, never widened


def test_status_filter_defaults_to_enrolled(coordinator, district):
    with scopes_disabled():
        Student.objects.filter(pk=district.students["a2_plain"].pk).update(status="transferred")
    enrolled = coordinator.get("/api/v1/students").json()
    assert "赵一" not in {s["name"] for s in enrolled["items"]}
    everyone = coordinator.get("/api/v1/students?status=").json()
    assert "赵一" in {s["name"] for s in everyone["items"]}


def test_families_group_siblings_and_show_contacts_to_leaders(coordinator, district):
    families = coordinator.get(f"/api/v1/families?school={district.school_a.pk}").json()
    siblings = next(f for f in families["items"] if f["code"] == "F-A-1")
    assert {s["name"] for s in siblings["students"]} == {"王小明", "王小红"}
    assert siblings["guardians"][0]["phone"] == "13812345678"
    by_class = coordinator.get(f"/api/v1/families?class={district.class_a1.pk}").json()
    assert {f["code"] for f in by_class["items"]} == {"F-A-1", "F-A-2"}


def test_school_and_class_figures(client, district):
    client.force_login(district.users["bureau_officer"])
    schools = {s["code"]: s for s in client.get("/api/v1/schools").json()["items"]}
    assert schools["A001"]["student_count"] == 4
    assert schools["A001"]["family_count"] == 3  # siblings share one family
    assert schools["A001"]["focus_count"] == 2
    klass = client.get(f"/api/v1/classes/{district.class_a1.pk}").json()
    assert klass["name"] == "三年级(1)班" and klass["head_teacher_name"] == "head_a1"
    assert klass["student_count"] == 2 and klass["focus_count"] == 1


def test_bad_parameters_get_a_clear_422(coordinator):
    assert coordinator.get("/api/v1/students?limit=0").status_code == 422
    assert coordinator.get("/api/v1/students?class=abc").status_code == 422
    assert coordinator.get("/api/v1/students?limit=100000").json()["count"] == 4


def test_responses_match_the_openapi_schema(coordinator, district):
    """Every field the API returns is declared in its schema, with the declared type."""
    schema = coordinator.get("/api/v1/openapi.json").json()
    components = schema["components"]["schemas"]
    student = coordinator.get(f"/api/v1/students/{district.students['a1_focus'].pk}").json()
    declared = components["StudentOut"]["properties"]
    assert set(student) == set(declared)
    family = coordinator.get(f"/api/v1/families/{district.families['siblings'].pk}").json()
    assert set(family) == set(components["FamilyOut"]["properties"])
