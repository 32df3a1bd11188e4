"""Task assignments in the API (issue 3 point 10; R8, R10, R18): the same lookups and
functions as the pages — 404 out of scope exactly like a missing school, 403 for bureau
officers (they read), 422 with Chinese messages."""

import pytest

from jiafang.taskmap.models import TaskAssignment, TeacherLoad

pytestmark = pytest.mark.usefixtures("scoped")
MISSING = 987654
API = "/api/v1/assignments"


def _call(client, user, method, url, data=None):
    client.force_login(user)
    if method == "get":
        return client.get(url, data or {})
    return getattr(client, method)(url, data or {}, content_type="application/json")


def test_draft_reassign_list_and_loads(district, campaign, client):
    """R8: the coordinator drafts, moves two families to head_a2 with a companion; head_a2's
    list (teacher filter) has them; a lighter load is set and cleared."""
    d = district
    coordinator = d.users["coordinator_a"]
    target = {"campaign_id": campaign.pk, "school_id": d.school_a.pk}
    body = _call(client, coordinator, "post", f"{API}/draft", target).json()
    assert (body["created"], body["updated"], body["manual"]) == (3, 0, 0)
    again = _call(client, coordinator, "post", f"{API}/draft", target).json()
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)

    families = [d.families["siblings"].pk, d.families["a1_only"].pk]
    response = _call(client, coordinator, "post", f"{API}/reassign", {
        **target, "family_ids": families, "lead_id": d.users["head_a2"].pk,
        "companion_ids": [d.users["subject_a1"].pk], "school": d.school_b.pk, "manual": False,
        "version": 99})
    assert response.status_code == 200
    items = response.json()["items"]
    assert [i["family_id"] for i in items] == families
    assert all(i["lead"]["id"] == d.users["head_a2"].pk and i["manual"] and i["version"] == 2
               and [c["name"] for c in i["companions"]] == ["subject_a1"] for i in items)

    listed = _call(client, d.users["head_a2"], "get", API,
                   {"campaign": campaign.pk, "teacher": d.users["head_a2"].pk}).json()
    assert listed["count"] == 3
    by_family = {i["family_id"]: i for i in listed["items"]}
    a1_only = by_family[d.families["a1_only"].pk]
    # head_a2 leads it but does not teach 李思: named (the assignment is the need to know),
    # focus flagged without the category, no place
    assert ([c["name"] for c in a1_only["children"]], a1_only["hidden_children"],
            a1_only["focus"], a1_only["focus_categories"], a1_only["group"]) == (
        ["李思"], 0, True, [], "")
    assert by_family[d.families["siblings"].pk]["group"] == "遥观镇·塘桥社区"

    load = _call(client, coordinator, "put", f"{API}/loads", {
        **target, "user_id": d.users["head_a1"].pk, "max_families": 5, "share": 50,
        "reason": "照顾生病的家人"}).json()
    assert (load["max_families"], load["share"], load["cleared"]) == (5, 50, False)
    cleared = _call(client, coordinator, "put", f"{API}/loads",
                    {**target, "user_id": d.users["head_a1"].pk}).json()
    assert cleared["cleared"] and not TeacherLoad.objects.exists()


@pytest.mark.parametrize("persona", ["head_a1", "mental_a", "principal_b", "other_officer"])
def test_out_of_scope_looks_missing(persona, district, campaign, client):
    """B4: school A's writes by someone who cannot open its map answer what a missing school
    answers; nothing is written."""
    d = district
    for path, extra in (("draft", {}), ("reassign", {"family_ids": [d.families["a1_only"].pk],
                                                     "lead_id": d.users["head_a2"].pk})):
        own = _call(client, d.users[persona], "post", f"{API}/{path}",
                    {"campaign_id": campaign.pk, "school_id": d.school_a.pk, **extra})
        missing = _call(client, d.users[persona], "post", f"{API}/{path}",
                        {"campaign_id": campaign.pk, "school_id": MISSING, **extra})
        assert own.status_code == missing.status_code == 404
        assert own.content == missing.content
    assert not TaskAssignment.objects.exists()


def test_bureau_officer_gets_403_and_reads_the_list(district, campaign, drafted, client):
    d = district
    response = _call(client, d.users["bureau_officer"], "post", f"{API}/draft",
                     {"campaign_id": campaign.pk, "school_id": d.school_a.pk})
    assert response.status_code == 403
    assert response.json()["detail"] == "无权调整本校的家访任务。"
    listed = _call(client, d.users["bureau_officer"], "get", API,
                   {"school": d.school_a.pk}).json()
    assert listed["count"] == 3 and {i["group"] for i in listed["items"]} == {""}


def test_validation_errors_are_422_in_chinese(district, campaign, client):
    d = district
    target = {"campaign_id": campaign.pk, "school_id": d.school_a.pk}
    response = _call(client, d.users["principal_a"], "post", f"{API}/reassign", {
        **target, "family_ids": [d.families["a1_only"].pk], "lead_id": d.users["head_b1"].pk})
    assert response.status_code == 422
    assert response.json() == {"detail": "家访教师必须是本校教职工。",
                               "errors": {"lead": ["家访教师必须是本校教职工。"]}}
    response = _call(client, d.users["principal_a"], "put", f"{API}/loads", {
        **target, "user_id": d.users["head_a1"].pk, "max_families": 2})
    assert response.status_code == 422
    assert response.json()["errors"] == {"reason": ["请填写减负原因。"]}
    response = _call(client, d.users["principal_a"], "post", f"{API}/reassign", {
        **target, "family_ids": [], "lead_id": MISSING})
    assert response.status_code == 422
    response = _call(client, d.users["principal_a"], "put", f"{API}/loads", {
        **target, "user_id": d.users["head_a1"].pk, "share": -5, "reason": "病"})
    assert response.json()["errors"] == {"share": ["同行任务份额应在 0 到 100 之间。"]}
    response = _call(client, d.users["principal_a"], "post", f"{API}/reassign", {
        **target, "family_ids": [10**30], "lead_id": d.users["head_a2"].pk})
    assert response.status_code == 422  # refused before the database (no overflow, no 500)


def test_the_list_is_scoped(district, campaign, drafted, client):
    """B5: a teacher of school B lists none of school A's assignments; a subject teacher of
    3(1) lists 3(1)'s families (and goes along on them) with places masked."""
    d = district
    assert _call(client, d.users["head_b1"], "get", API).json()["count"] == 0
    listed = _call(client, d.users["subject_a1"], "get", API).json()
    assert {i["family_id"] for i in listed["items"]} == {d.families["siblings"].pk,
                                                         d.families["a1_only"].pk}
    assert all(i["group"] == "" and i["companions"][0]["name"] == "subject_a1"
               for i in listed["items"])
    names = {c["name"] for i in listed["items"] for c in i["children"]}
    # 王小红 is in 3(2), but subject_a1 goes along on her family's visit: named
    assert names == {"王小明", "李思", "王小红"}


def test_a_hidden_siblings_flag_is_not_told_to_who_does_not_visit(district, campaign, drafted,
                                                                  client):
    """B6: once the sibling family is given to 3(2)'s head teacher, 3(1)'s head teacher still
    sees 王小明 in the list, but neither 王小红 nor that she is flagged."""
    d = district
    _call(client, d.users["coordinator_a"], "post", f"{API}/reassign", {
        "campaign_id": campaign.pk, "school_id": d.school_a.pk,
        "family_ids": [d.families["siblings"].pk], "lead_id": d.users["head_a2"].pk,
        "companion_ids": []})
    listed = _call(client, d.users["head_a1"], "get", API).json()
    siblings = next(i for i in listed["items"] if i["family_id"] == d.families["siblings"].pk)
    assert [c["name"] for c in siblings["children"]] == ["王小明"]
    assert (siblings["hidden_children"], siblings["focus"]) == (1, False)
    lead = _call(client, d.users["head_a2"], "get", API).json()
    assert next(i for i in lead["items"]
                if i["family_id"] == d.families["siblings"].pk)["focus"] is True
