"""Task map pages (R8, R10, R18): the school-wide map (principal and coordinator change it,
bureau officers read it masked, everyone else 404 like a missing school), bulk reassignment,
lighter loads, "我的家访任务", and the schedule page proposing the map's teachers."""

import re

import pytest

from jiafang.taskmap.models import TaskAssignment
from jiafang.taskmap.services import taskmap_reassign
from jiafang.taskmap.tests.conftest import add_teacher

pytestmark = pytest.mark.usefixtures("scoped")
MISSING = 987654


def _map(d, campaign, school=None) -> str:
    return f"/schools/{(school or d.school_a).pk}/taskmap/?campaign={campaign.pk}"


def _get(client, user, url, status=200):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == status, url
    return response


def _checkbox(family) -> str:
    return f'name="family" value="{family.pk}"'


@pytest.fixture
def places(district):
    """3(2)'s plain family lives in another community of the same street."""
    family = district.families["a2_only"]
    family.community = "丁堰社区"
    family.save(update_fields=["community"])
    return district


def test_coordinator_drafts_and_sees_families_by_teacher_and_community(places, campaign,
                                                                        client):
    """R8, R18: "生成任务草案" drafts the map; each teacher's families are grouped by street and
    community; focus families are flagged; the rule is stated on the page."""
    d = places
    client.force_login(d.users["coordinator_a"])
    response = client.post(f"/schools/{d.school_a.pk}/taskmap/draft/",
                           {"campaign": campaign.pk})
    assert response.status_code == 302
    assert response["Location"] == _map(d, campaign)
    page = client.get(_map(d, campaign))
    html = page.content.decode()
    assert "任务草案已生成：新分配 3 户" in html
    teachers = page.context["map"].teachers
    assert [t.user.username for t in teachers] == ["head_a1", "head_a2"]
    assert [(g.label, len(g.rows)) for g in teachers[0].groups] == [("遥观镇·塘桥社区", 2)]
    assert [g.label for g in teachers[1].groups] == ["遥观镇·丁堰社区"]
    assert "年级最低的在读孩子所在班级的班主任" in html
    assert html.count('<span class="tag focus">重点关注家庭</span>') == 2  # siblings (王小红) and 李思's family
    assert "生成任务草案" in html and _checkbox(d.families["a1_only"]) in html
    assert "常州市武进区遥观镇塘桥路18号3幢201室" in html  # the coordinator sees addresses


def test_bureau_officer_reads_the_map_masked_and_cannot_change_it(places, campaign, drafted,
                                                                  client):
    """R1, R23.10: the bureau reads the map without places or addresses; changes answer 403."""
    d = places
    html = _get(client, d.users["bureau_officer"], _map(d, campaign)).content.decode()
    assert "第 1 组" in html and "塘桥社区" not in html and "丁堰社区" not in html
    assert "塘桥路18号3幢201室" not in html
    assert "生成任务草案" not in html and 'name="family"' not in html
    assert "只读" in html
    for path, data in (("draft/", {}), ("reassign/", {"family": d.families["a1_only"].pk,
                                                      "lead": d.users["head_a2"].pk}),
                       ("loads/", {"user": d.users["head_a1"].pk, "share": 50, "reason": "x"})):
        response = client.post(f"/schools/{d.school_a.pk}/taskmap/{path}",
                               {"campaign": campaign.pk, **data})
        assert response.status_code == 403
    assert not TaskAssignment.objects.filter(manual=True).exists()


@pytest.mark.parametrize("persona", ["head_a1", "subject_a1", "mental_a", "principal_b"])
def test_others_get_exactly_what_a_missing_school_gets(persona, district, campaign, client):
    """B4: a teacher of school A or a principal of school B cannot see or change school A's map."""
    d = district
    client.force_login(d.users[persona])
    for suffix, method in (("", "get"), ("draft/", "post"), ("reassign/", "post")):
        own = getattr(client, method)(f"/schools/{d.school_a.pk}/taskmap/{suffix}",
                                      {"campaign": campaign.pk})
        missing = getattr(client, method)(f"/schools/{MISSING}/taskmap/{suffix}",
                                          {"campaign": campaign.pk})
        assert own.status_code == missing.status_code == 404
        assert own.content == missing.content


def test_bulk_reassign_moves_two_families_into_the_other_teachers_list(district, campaign,
                                                                      drafted, client):
    """R8: two families checked and given to head_a2 leave head_a1's list, show up in head_a2's
    "我的家访任务" (children outside head_a2's class counted, not named; addresses masked) and
    are marked as adjusted by hand."""
    d = district
    client.force_login(d.users["coordinator_a"])
    response = client.post(f"/schools/{d.school_a.pk}/taskmap/reassign/", {
        "campaign": campaign.pk, "family": [d.families["siblings"].pk, d.families["a1_only"].pk],
        "lead": d.users["head_a2"].pk, "companion": "none"})
    assert response.status_code == 302
    page = client.get(_map(d, campaign))
    assert "已将 2 户调整给 head_a2。" in page.content.decode()
    teachers = {t.user.username: t for t in page.context["map"].teachers}
    assert "head_a1" not in teachers and teachers["head_a2"].led == 3
    assert page.content.decode().count('<span class="tag">手动调整</span>') == 2

    mine = _get(client, d.users["head_a2"], "/taskmap/mine/")
    html = mine.content.decode()
    (section,) = mine.context["sections"]
    rows = {r.family.pk: r for g in section.led for r in g.rows}
    assert set(rows) == {d.families["siblings"].pk, d.families["a1_only"].pk,
                         d.families["a2_only"].pk}
    a1_only = rows[d.families["a1_only"].pk]
    # the assignment is the need to know: the lead sees the children's names and classes ...
    assert ([s.name for s in a1_only.children], a1_only.hidden_children, a1_only.focus) == (
        ["李思"], 0, True)
    assert "李思" in html and "王小红" in html and "王小明" in html
    # ... but head_a2 is not 3(1)'s head teacher: the address and community stay masked
    assert (a1_only.show_contacts, a1_only.community) == (False, "")
    assert a1_only.address == "常州市武进区****"
    old = _get(client, d.users["head_a1"], "/taskmap/mine/")
    assert old.context["sections"] == []
    assert "您目前没有家访任务" in old.content.decode()


def test_reassign_errors_are_shown_and_the_checked_families_kept(district, campaign, drafted,
                                                                client):
    """Forms keep what the user chose; errors in Chinese next to the fields."""
    d = district
    client.force_login(d.users["coordinator_a"])
    url = f"/schools/{d.school_a.pk}/taskmap/reassign/"
    response = client.post(url, {"campaign": campaign.pk, "family": [d.families["a1_only"].pk],
                                 "lead": ""})
    assert response.status_code == 400
    html = response.content.decode()
    assert "这个字段是必填项。" in html
    assert re.search(rf'{_checkbox(d.families["a1_only"])} checked', html)
    response = client.post(url, {"campaign": campaign.pk, "lead": d.users["head_a2"].pk})
    assert response.status_code == 400
    assert "请至少选择一个家庭。" in response.content.decode()
    assert not TaskAssignment.objects.filter(manual=True).exists()


def test_lighter_load_is_set_from_the_page_and_respected_by_the_next_draft(district, campaign,
                                                                          drafted, client):
    """R18: a reason is required; the redraft moves what it can and flags the rest."""
    d = district
    client.force_login(d.users["coordinator_a"])
    url = f"/schools/{d.school_a.pk}/taskmap/loads/"
    data = {"campaign": campaign.pk, "user": d.users["head_a1"].pk, "max_families": "0",
            "share": "100", "reason": ""}
    response = client.post(url, data)
    assert response.status_code == 400 and "请填写减负原因。" in response.content.decode()
    assert client.post(url, {**data, "reason": "腰椎手术后恢复"}).status_code == 302
    client.post(f"/schools/{d.school_a.pk}/taskmap/draft/", {"campaign": campaign.pk})
    page = client.get(_map(d, campaign))
    html = page.content.decode()
    assert "1 户超出教师减负上限且无法改派，请手动调整。" in html
    assert "腰椎手术后恢复" in html and "超出减负上限 1 户" in html
    head_a1 = next(t for t in page.context["map"].teachers if t.user.username == "head_a1")
    assert (head_a1.led, head_a1.over_cap) == (1, 1)


def test_my_families_link_scheduling_and_mask_for_companions(district, campaign, drafted, client):
    """R8, R10: the head teacher gets "安排家访" per family; the companion (a subject teacher)
    sees the family as 同行 with the address masked and no scheduling link."""
    d = district
    html = _get(client, d.users["head_a1"], "/taskmap/mine/").content.decode()
    assert f'/visits/new/?family={d.families["a1_only"].pk}' in html
    assert "塘桥路18号3幢201室" in html and "遥观镇·塘桥社区" in html
    assert "李思" in html and "心理" in html  # the focus child and her category
    companion = _get(client, d.users["subject_a1"], "/taskmap/mine/")
    (section,) = companion.context["sections"]
    assert section.led == [] and len(section.joined) == 2
    html = companion.content.decode()
    assert "我同行的家庭" in html and "/visits/new/" not in html
    assert "塘桥路18号3幢201室" not in html and "塘桥社区" not in html


def test_my_families_of_another_campaign_and_no_role(district, campaign, drafted, client):
    d = district
    assert _get(client, d.users["no_role"], "/taskmap/mine/").context["sections"] == []
    assert _get(client, d.users["head_a1"], f"/taskmap/mine/?campaign={MISSING}",
                status=404)


def test_schedule_page_proposes_the_task_map_teachers(district, campaign, drafted, client):
    """R8, R10: /visits/new/ proposes the family's lead and companions from the task map."""
    d = district
    music = add_teacher("music_a2", d.class_a2, subject="音乐")
    taskmap_reassign(campaign=campaign, school=d.school_a, family_ids=[d.families["a1_only"].pk],
                     lead=d.users["principal_a"], companions=[music],
                     by=d.users["coordinator_a"])
    form = _get(client, d.users["head_a1"],
                f"/visits/new/?family={d.families['a1_only'].pk}").context["form"]
    assert form.initial == {"lead": d.users["principal_a"].pk, "companions": [music.pk]}
    TaskAssignment.objects.filter(family=d.families["a1_only"]).delete()
    form = _get(client, d.users["head_a1"],
                f"/visits/new/?family={d.families['a1_only'].pk}").context["form"]
    assert form.initial == {"lead": d.users["head_a1"].pk}  # the default without a task


def test_links_from_the_school_overview_the_class_page_and_home(district, campaign, client):
    d = district
    html = _get(client, d.users["coordinator_a"], f"/schools/{d.school_a.pk}/").content.decode()
    assert f"/schools/{d.school_a.pk}/taskmap/?campaign={campaign.pk}" in html
    assert "/taskmap/mine/" in html
    html = _get(client, d.users["subject_a1"], f"/classes/{d.class_a1.pk}/").content.decode()
    assert "/taskmap/mine/" in html
    html = _get(client, d.users["bureau_officer"], f"/classes/{d.class_a1.pk}/").content.decode()
    assert "/taskmap/mine/" not in html


def test_a_campaign_the_school_is_not_in_looks_missing(district, campaign, client):
    """A campaign id that is unreadable, absurd or of another bureau answers 404."""
    from jiafang.conftest import make_campaign

    d = district
    other = make_campaign(d, bureau=d.other_bureau)
    for value in (MISSING, 10**30, "x", other.pk):
        _get(client, d.users["coordinator_a"],
             f"/schools/{d.school_a.pk}/taskmap/?campaign={value}", status=404)
    html = _get(client, d.users["coordinator_a"],
                f"/schools/{d.school_a.pk}/taskmap/").content.decode()
    assert campaign.name in html  # without ?campaign=: the school's current campaign
