"""Coverage pages and API show exactly the figures of a scenario built with the visit services:
a family with two children in different classes visited in person (both children and one family
count at class, school, bureau and category), a phone visit (does not count), a declined family
(listed apart). Out of scope answers 404."""

import pytest

from jiafang.conftest import make_family, make_student
from jiafang.schools.services import school_figures_refresh
from jiafang.visits.services import visit_decline, visit_schedule
from jiafang.visits.tests.conftest import at, schedule_and_record

pytestmark = pytest.mark.usefixtures("scoped")


@pytest.fixture
def scenario(district, campaign):
    d = district
    schedule_and_record(d, campaign, d.families["siblings"])  # in person, both children
    schedule_and_record(d, campaign, d.families["a1_only"], form="phone")  # does not count
    declined = visit_schedule(campaign=campaign, family=d.families["a2_only"],
                              lead=d.users["head_a2"], scheduled_at=at(4, 20, 18),
                              by=d.users["head_a2"]).visit
    visit_decline(visit=declined, reason="家中老人住院，暂不方便", by=d.users["head_a2"])
    # a plain family of 3(1) with a lower student number than the focus child: listed after it
    plain = make_family(d.school_a, "F-A-9", guardian="孙丽", phone="13811112222")
    d.students["a1_early"] = make_student(d.class_a1, plain, "A0000", "孙一")
    d.families["a1_plain"] = plain
    school_figures_refresh(school_ids=[d.school_a.pk])  # what a roster import does
    visit_schedule(campaign=campaign, family=plain, lead=d.users["head_a1"],
                   scheduled_at=at(5, 8, 18), by=d.users["head_a1"])
    return d


def _get(client, user, url):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200, url
    return response


def _counts(students, students_visited, families, families_visited, declined):
    return {"students": {"total": students, "visited": students_visited},
            "families": {"total": families, "visited": families_visited, "declined": declined}}


def test_bureau_api_counts_families_and_children_exactly(scenario, campaign, client):
    body = _get(client, scenario.users["bureau_officer"],
                f"/api/v1/coverage/bureau?campaign={campaign.pk}").json()
    # school A: 5 enrolled (with the added plain child), school B: 1
    assert {k: body[k] for k in ("students", "families")} == _counts(6, 2, 5, 1, 1)
    assert body["focus"] == {"total": 3, "visited": 1}
    categories = {c["code"]: (c["total"], c["visited"]) for c in body["by_category"]}
    assert categories["left_behind_single_parent"] == (1, 1)
    assert categories["mental_health"] == (2, 0)
    schools = {s["id"]: s for s in body["schools"]}
    a = schools[scenario.school_a.pk]
    assert (a["students"], a["families"]) == ({"total": 5, "visited": 2},
                                              {"total": 4, "visited": 1, "declined": 1})
    assert schools[scenario.school_b.pk]["families"] == {"total": 1, "visited": 0, "declined": 0}


def test_bureau_page_shows_the_same(scenario, campaign, client):
    response = _get(client, scenario.users["bureau_officer"],
                    f"/campaigns/{campaign.pk}/coverage/")
    totals = response.context["coverage"].totals
    assert (totals.students_visited, totals.students_total, totals.families_visited,
            totals.families_total, totals.families_declined) == (2, 6, 1, 5, 1)
    html = response.content.decode()
    assert "1/5" in html and "2/6" in html
    assert f"/schools/{scenario.school_a.pk}/coverage/?campaign={campaign.pk}" in html


def test_school_api_per_grade_class_category_teacher(scenario, campaign, client):
    body = _get(client, scenario.users["principal_a"],
                f"/api/v1/coverage/schools/{scenario.school_a.pk}?campaign={campaign.pk}").json()
    assert {k: body[k] for k in ("students", "families")} == _counts(5, 2, 4, 1, 1)
    classes = {c["id"]: {k: c[k] for k in ("students", "families")} for c in body["by_class"]}
    assert classes[scenario.class_a1.pk] == _counts(3, 1, 3, 1, 0)
    assert classes[scenario.class_a2.pk] == _counts(2, 1, 2, 1, 1)
    assert [(g["name"], g["families"]["visited"]) for g in body["by_grade"]] == [("三年级", 1)]
    categories = {c["code"]: (c["total"], c["visited"]) for c in body["by_category"]}
    assert categories["left_behind_single_parent"] == (1, 1)
    assert categories["mental_health"] == (1, 0)
    assert [(t["id"], t["led"], t["joined"]) for t in body["by_teacher"]] == [
        (scenario.users["head_a1"].pk, 1, 0)]  # the phone visit does not count
    assert body["principal_visits"] == 0
    weeks = {w["starts_on"]: w["families_visited"] for w in body["progress"]}
    assert weeks["2025-04-14"] == 1 and sum(weeks.values()) == 1


def test_school_page_shows_the_same_and_draws_the_chart(scenario, campaign, client):
    response = _get(client, scenario.users["coordinator_a"],
                    f"/schools/{scenario.school_a.pk}/coverage/?campaign={campaign.pk}")
    totals = response.context["coverage"].totals
    assert (totals.students_visited, totals.students_total, totals.families_visited,
            totals.families_total, totals.families_declined) == (2, 5, 1, 4, 1)
    html = response.content.decode()
    assert "<svg" in html and 'class="week-bar"' in html and "<polyline" in html
    assert f"/classes/{scenario.class_a1.pk}/todo/?campaign={campaign.pk}" in html


def test_school_page_defaults_to_the_current_campaign(scenario, campaign, client):
    response = _get(client, scenario.users["principal_a"],
                    f"/schools/{scenario.school_a.pk}/coverage/")
    assert response.context["campaign"] == campaign


def test_principal_visits_count(scenario, campaign, client):
    d = scenario
    schedule_and_record(d, campaign, d.families["b"], lead=d.users["principal_b"])
    body = _get(client, d.users["principal_b"],
                f"/api/v1/coverage/schools/{d.school_b.pk}?campaign={campaign.pk}").json()
    assert body["principal_visits"] == 1
    assert body["by_teacher"][0]["is_principal"] is True
    html = _get(client, d.users["principal_b"],
                f"/schools/{d.school_b.pk}/coverage/?campaign={campaign.pk}").content.decode()
    assert "校长亲自家访" in html and "主访 1 次" in html


def test_todo_focus_first_next_visit_declined_apart(scenario, campaign, client):
    d = scenario
    body = _get(client, d.users["head_a1"],
                f"/api/v1/coverage/classes/{d.class_a1.pk}/todo?campaign={campaign.pk}").json()
    assert (body["families_visited"], body["families_total"]) == (1, 3)
    assert [f["family_id"] for f in body["pending"]] == [d.families["a1_only"].pk,
                                                         d.families["a1_plain"].pk]
    assert body["pending"][0]["focus"] == ["mental_health"]
    assert body["pending"][0]["next_visit"] is None  # the phone visit is done, nothing booked
    assert body["pending"][1]["next_visit"]["status"] == "proposed"
    assert body["declined"] == []
    a2 = _get(client, d.users["head_a2"],
              f"/api/v1/coverage/classes/{d.class_a2.pk}/todo?campaign={campaign.pk}").json()
    assert a2["pending"] == []
    assert [(f["family_id"], f["declined_reason"]) for f in a2["declined"]] == [
        (d.families["a2_only"].pk, "家中老人住院，暂不方便")]


def test_todo_page(scenario, campaign, client):
    d = scenario
    html = _get(client, d.users["subject_a1"],
                f"/classes/{d.class_a1.pk}/todo/?campaign={campaign.pk}").content.decode()
    assert html.index("李思") < html.index("孙一")  # focus family first
    assert "已家访 1/3 个家庭" in html
    html = _get(client, d.users["head_a2"], f"/classes/{d.class_a2.pk}/todo/").content.decode()
    assert "家中老人住院，暂不方便" in html


@pytest.mark.parametrize(("persona", "url"), [
    ("head_a2", "/classes/{a1}/todo/?campaign={c}"),
    ("head_a2", "/api/v1/coverage/classes/{a1}/todo?campaign={c}"),
    ("principal_b", "/schools/{a}/coverage/?campaign={c}"),
    ("principal_b", "/api/v1/coverage/schools/{a}?campaign={c}"),
    ("head_a1", "/schools/{a}/coverage/?campaign={c}"),
    ("other_officer", "/campaigns/{c}/coverage/"),
    ("other_officer", "/api/v1/coverage/bureau?campaign={c}"),
    ("principal_a", "/campaigns/{c}/coverage/"),
])
def test_out_of_scope_is_404(persona, url, scenario, campaign, client):
    d = scenario
    client.force_login(d.users[persona])
    response = client.get(url.format(a1=d.class_a1.pk, a=d.school_a.pk, c=campaign.pk))
    assert response.status_code == 404


def test_campaign_of_another_bureau_is_404_for_a_school(scenario, campaign, client):
    from jiafang.conftest import make_campaign

    other = make_campaign(scenario, bureau=scenario.other_bureau)
    client.force_login(scenario.users["bureau_officer"])
    assert client.get(f"/schools/{scenario.school_a.pk}/coverage/?campaign={other.pk}"
                      ).status_code == 404


def _figures(body):
    return ({k: body[k] for k in ("students", "families")}, body["focus"],
            {c["code"]: (c["total"], c["visited"]) for c in body["by_category"]})


def test_generic_api_whole_scope_of_an_officer_equals_the_bureau_figures(
        scenario, campaign, client):
    """R3, R4: GET /api/v1/coverage?campaign= answers the caller's whole scope."""
    body = _get(client, scenario.users["bureau_officer"],
                f"/api/v1/coverage?campaign={campaign.pk}").json()
    counts, focus, categories = _figures(body)
    assert counts == _counts(6, 2, 5, 1, 1)
    assert focus == {"total": 3, "visited": 1}
    assert categories["left_behind_single_parent"] == (1, 1)
    assert categories["mental_health"] == (2, 0)
    assert len(body["by_category"]) == 6
    assert (body["school_id"], body["class_id"]) == (None, None)


def test_generic_api_one_school_from_stored_figures_equals_a_live_count(
        scenario, campaign, client):
    """The principal's school read from the stored figures matches the live school coverage."""
    url = f"/api/v1/coverage?campaign={campaign.pk}&school={scenario.school_a.pk}"
    counts, focus, categories = _figures(_get(client, scenario.users["principal_a"], url).json())
    assert counts == _counts(5, 2, 4, 1, 1)
    live = _get(client, scenario.users["principal_a"],
                f"/api/v1/coverage/schools/{scenario.school_a.pk}?campaign={campaign.pk}").json()
    assert categories == {c["code"]: (c["total"], c["visited"]) for c in live["by_category"]}
    assert focus == {"total": 2, "visited": 1}


def test_generic_api_one_class_and_a_head_teachers_own_scope(scenario, campaign, client):
    """A head teacher's default scope is their class, counted live; class= narrows anyone."""
    head = scenario.users["head_a2"]
    own = _get(client, head, f"/api/v1/coverage?campaign={campaign.pk}").json()
    assert _figures(own)[0] == _counts(2, 1, 2, 1, 1)
    by_class = _get(client, scenario.users["coordinator_a"],
                    f"/api/v1/coverage?campaign={campaign.pk}&class={scenario.class_a1.pk}"
                    ).json()
    assert _figures(by_class)[0] == _counts(3, 1, 3, 1, 0)
    assert by_class["class_id"] == scenario.class_a1.pk


@pytest.mark.parametrize(("persona", "query"), [
    ("head_a2", "&class={a1}"),  # another class of the same school
    ("head_b1", "&school={a}"),  # another school
    ("other_officer", ""),  # another bureau's campaign
])
def test_generic_api_out_of_scope_is_404(persona, query, scenario, campaign, client):
    client.force_login(scenario.users[persona])
    url = f"/api/v1/coverage?campaign={campaign.pk}" + query.format(
        a1=scenario.class_a1.pk, a=scenario.school_a.pk)
    assert client.get(url).status_code == 404
