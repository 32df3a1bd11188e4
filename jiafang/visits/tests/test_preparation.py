"""Visit preparation (家访准备): the prepared profile of the family, the notes of those who visit,
the record pre-filled from them, the API with If-Match (issue 3 point 5; R11, R23.1; SECURITY.md
B4, B5, G1, G2)."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scopes_disabled

from jiafang.visits.models import ParentDemand, VisitEvent, VisitPreparation
from jiafang.visits.services import visit_decline, visit_record_draft_save, visit_schedule
from jiafang.visits.tests.conftest import at, schedule_and_record

API = "/api/v1/visits"


def visit_to(district, campaign, family="siblings", *, lead="head_a1", companions=(),
             when=None):
    with scopes_disabled():
        return visit_schedule(campaign=campaign, family=district.families[family],
                              lead=district.users[lead],
                              companions=[district.users[c] for c in companions],
                              scheduled_at=when or at(5, 20, 17), duration_minutes=60,
                              form="in_person", by=district.users[lead]).visit


def history(district, campaign):
    """The sibling family was visited on 2025-04-15 (two demands, one since resolved) and
    declined a visit on 2025-04-29; another family raised its own demand."""
    with scopes_disabled():
        schedule_and_record(district, campaign, district.families["siblings"],
                            when=at(4, 15, 17), visited_at=at(4, 15, 17),
                            parent_demands=[("希望多关注孩子的数学", None),
                                            ("希望减少作业", None)])
        ParentDemand.objects.filter(text="希望减少作业").update(status="resolved")
        declined = visit_to(district, campaign, when=at(4, 29, 17))
        visit_decline(visit=declined, reason="家长临时出差", by=district.users["head_a1"])
        schedule_and_record(district, campaign, district.families["a1_only"],
                            when=at(4, 16, 17), visited_at=at(4, 16, 17),
                            parent_demands=[("其他家庭的诉求", None)])


def prepare_post(**changes):
    data = {"version": "0", "topics": "孩子近期的数学学习", "strengths_to_praise": "乐于助人",
            "concerns": "作业拖拉：和家长约定固定的作业时间"}
    data.update(changes)
    return data


def notes():
    with scopes_disabled():
        return VisitPreparation.objects.first()


def prepared_events():
    with scopes_disabled():
        return VisitEvent.objects.filter(kind=VisitEvent.Kind.PREPARED).count()


# --- the prepared profile ----------------------------------------------------------------------

def test_profile_shows_classes_focus_key_points_demands_and_outcomes(district, campaign, login):
    """R11: the preparation screen pre-fills what the school knows — each child's class and
    focus categories, the key points of earlier visits, the family's open demands (not another
    family's, not resolved ones) and the earlier outcome (declined, with its reason)."""
    history(district, campaign)
    visit = visit_to(district, campaign)
    page = login(district.users["head_a1"]).get(f"/visits/{visit.pk}/prepare/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "王小明" in body and "王小红" in body  # the lead prepares for the whole family
    assert "三年级(1)班" in body and "三年级(2)班" in body
    assert "留守" in body  # 王小红's focus category, shown by name
    assert "父母在外务工" not in body  # the reason: not for the head teacher of another class
    assert "王小明乐于助人" in body and "每天固定时间完成作业" in body  # earlier key points
    assert "2025-04-15" in body and "下周电话回访" in body  # with the date and the follow-up
    assert "希望多关注孩子的数学" in body
    assert "希望减少作业" not in body  # resolved
    assert "其他家庭的诉求" not in body  # another family's
    assert "家长婉拒" in body and "家长临时出差" in body  # the earlier outcome and its reason
    principal = login(district.users["principal_a"]).get(f"/visits/{visit.pk}/prepare/")
    assert "父母在外务工" in principal.content.decode()  # leaders see why a child is flagged


def test_key_points_are_the_newest_three(district, campaign, login):
    """R11: a few key points per child at most, newest first, from any earlier visit."""
    with scopes_disabled():
        for day in (3, 10, 17, 24):
            schedule_and_record(district, campaign, district.families["a1_only"],
                                when=at(4, day, 17), visited_at=at(4, day, 17),
                                children={district.students["a1_focus"].pk: {
                                    "strengths": f"第{day}日的优点", "shortcomings": "粗心",
                                    "methods": "检查作业"}})
    visit = visit_to(district, campaign, "a1_only")
    body = login(district.users["head_a1"]).get(f"/visits/{visit.pk}/prepare/").content.decode()
    assert "第3日的优点" not in body
    assert body.index("第24日的优点") < body.index("第17日的优点") < body.index("第10日的优点")


def test_first_open_suggests_the_open_demands_as_topics(district, campaign, login):
    """R11, R15: before any notes, the topics are pre-filled with the demands to answer."""
    history(district, campaign)
    visit = visit_to(district, campaign)
    body = login(district.users["head_a1"]).get(f"/visits/{visit.pk}/prepare/").content.decode()
    assert "回应家长诉求：希望多关注孩子的数学" in body
    assert 'name="version" value="0"' in body


# --- the notes -------------------------------------------------------------------------------

def test_notes_saved_shown_and_in_the_history(district, campaign, login):
    """R11, R23.1: the lead writes brief notes; the visit page shows "已准备" and its history
    records who prepared; a save that changes nothing adds nothing."""
    visit = visit_to(district, campaign)
    client = login(district.users["head_a1"])
    detail = client.get(f"/visits/{visit.pk}/").content.decode()
    assert f"/visits/{visit.pk}/prepare/" in detail and "已准备" not in detail
    response = client.post(f"/visits/{visit.pk}/prepare/", prepare_post())
    assert response.status_code == 302
    body = client.get(f"/visits/{visit.pk}/prepare/").content.decode()
    assert "孩子近期的数学学习" in body and "和家长约定固定的作业时间" in body
    assert "第 1 版" in body and 'name="version" value="1"' in body
    detail = client.get(f"/visits/{visit.pk}/").content.decode()
    assert "已准备" in detail and "家访准备" in detail
    assert prepared_events() == 1
    client.post(f"/visits/{visit.pk}/prepare/", prepare_post(version="1"))
    assert notes().version == 1 and prepared_events() == 1  # nothing changed
    client.post(f"/visits/{visit.pk}/prepare/", prepare_post(version="1", concerns=""))
    saved = notes()
    assert saved.version == 2 and saved.concerns == "" and saved.topics == "孩子近期的数学学习"
    assert prepared_events() == 2


def test_at_least_one_part_and_errors_keep_what_was_typed(district, campaign, login):
    """R11: every part is optional but not all of them; errors are told in Chinese next to
    the field, with what was typed kept."""
    visit = visit_to(district, campaign)
    client = login(district.users["head_a1"])
    empty = client.post(f"/visits/{visit.pk}/prepare/",
                        prepare_post(topics=" ", strengths_to_praise="", concerns=""))
    assert empty.status_code == 400
    assert "请至少填写一项" in empty.content.decode()
    too_long = client.post(f"/visits/{visit.pk}/prepare/",
                           prepare_post(concerns="长" * 1501, topics="保留的话题"))
    assert too_long.status_code == 400
    body = too_long.content.decode()
    assert "不能超过1500字" in body and "保留的话题" in body
    assert notes() is None and prepared_events() == 0


def test_stale_edit_is_told_and_overwrites_nothing(district, campaign, login):
    """G1: the companion saves over the lead's notes from an out-of-date page: told (409),
    the lead's notes kept, what the companion typed kept; saving again replaces knowingly."""
    visit = visit_to(district, campaign, companions=["subject_a1"])
    lead = login(district.users["head_a1"])
    assert lead.post(f"/visits/{visit.pk}/prepare/", prepare_post()).status_code == 302
    companion = login(district.users["subject_a1"])
    stale = companion.post(f"/visits/{visit.pk}/prepare/",
                           prepare_post(topics="同行教师的话题", version="0"))
    assert stale.status_code == 409
    body = stale.content.decode()
    assert "已被他人修改" in body and "同行教师的话题" in body
    assert "孩子近期的数学学习" in body  # the saved notes are shown
    assert 'name="version" value="1"' in body
    assert notes().topics == "孩子近期的数学学习" and notes().version == 1
    again = companion.post(f"/visits/{visit.pk}/prepare/",
                           prepare_post(topics="同行教师的话题", version="1"))
    assert again.status_code == 302 and notes().topics == "同行教师的话题"
    assert notes().updated_by == district.users["subject_a1"]


def test_closed_visit_notes_are_read_only(district, campaign, login):
    """R11: preparation comes before the visit; once it is declined the notes stay as they
    were (shown, no form; a post is refused in Chinese)."""
    visit = visit_to(district, campaign)
    client = login(district.users["head_a1"])
    client.post(f"/visits/{visit.pk}/prepare/", prepare_post())
    with scopes_disabled():
        visit_decline(visit=visit, reason="家长出差", by=district.users["head_a1"])
    body = client.get(f"/visits/{visit.pk}/prepare/").content.decode()
    assert "孩子近期的数学学习" in body and "只能查看" in body and "保存准备笔记" not in body
    refused = client.post(f"/visits/{visit.pk}/prepare/", prepare_post(version="1", topics="新"))
    assert refused.status_code == 400 and "该家访已结束" in refused.content.decode()
    assert notes().topics == "孩子近期的数学学习"


# --- who --------------------------------------------------------------------------------------

def test_subject_teacher_not_visiting_cannot_write_nor_see_the_notes(district, campaign, login):
    """R23.10, B5: a subject teacher of the child who is neither lead nor companion sees the
    visit but not its preparation: 403 on the page and on a write, no link, no notes."""
    visit = visit_to(district, campaign, "a1_only")
    login(district.users["head_a1"]).post(f"/visits/{visit.pk}/prepare/", prepare_post())
    client = login(district.users["subject_a1"])
    detail = client.get(f"/visits/{visit.pk}/")
    assert detail.status_code == 200
    assert "/prepare/" not in detail.content.decode()
    assert "孩子近期的数学学习" not in detail.content.decode()
    page = client.get(f"/visits/{visit.pk}/prepare/")
    assert page.status_code == 403 and "孩子近期的数学学习" not in page.content.decode()
    assert client.post(f"/visits/{visit.pk}/prepare/",
                       prepare_post(version="1", topics="篡改")).status_code == 403
    api = client.get(f"{API}/{visit.pk}/preparation")
    assert api.status_code == 403 and "孩子近期的数学学习" not in api.content.decode()
    assert notes().topics == "孩子近期的数学学习"


@pytest.mark.parametrize("persona", ["head_b1", "principal_b", "other_officer"])
def test_other_school_gets_404_like_a_missing_visit(district, campaign, login, persona):
    """B4: another school's staff get exactly what a missing id gets."""
    visit = visit_to(district, campaign)
    client = login(district.users[persona])
    page = client.get(f"/visits/{visit.pk}/prepare/")
    missing = client.get("/visits/987654/prepare/")
    assert page.status_code == missing.status_code == 404
    assert page.content == missing.content
    assert client.post(f"/visits/{visit.pk}/prepare/", prepare_post()).status_code == 404
    assert client.get(f"{API}/{visit.pk}/preparation").status_code == 404
    assert notes() is None


def test_leaders_and_the_other_childs_head_teacher_read_only(district, campaign, login):
    """R11: the principal and the head teacher of the sibling's class read the notes (they may
    change the visit) but do not write them; the head teacher sees only their own pupil."""
    visit = visit_to(district, campaign)
    login(district.users["head_a1"]).post(f"/visits/{visit.pk}/prepare/", prepare_post())
    for persona in ("principal_a", "coordinator_a", "head_a2"):
        client = login(district.users[persona])
        page = client.get(f"/visits/{visit.pk}/prepare/")
        body = page.content.decode()
        assert page.status_code == 200 and "孩子近期的数学学习" in body
        assert "保存准备笔记" not in body
        assert client.post(f"/visits/{visit.pk}/prepare/",
                           prepare_post(version="1", topics="改")).status_code == 403
    body = login(district.users["head_a2"]).get(f"/visits/{visit.pk}/prepare/").content.decode()
    assert "王小红" in body and "王小明" not in body and "另有 1 个孩子" in body
    assert "父母在外务工" in body  # their own pupil's focus reason
    assert notes().topics == "孩子近期的数学学习"


# --- the record pre-filled ---------------------------------------------------------------------

def test_record_page_prefills_preparation_from_the_notes(district, campaign, login):
    """Issue 3 pt 6, R11: the record's 家访准备 is pre-filled from the notes on first open;
    a saved draft wins."""
    visit = visit_to(district, campaign)
    client = login(district.users["head_a1"])
    client.post(f"/visits/{visit.pk}/prepare/", prepare_post(strengths_to_praise=""))
    body = client.get(f"/visits/{visit.pk}/record/").content.decode()
    assert "沟通话题：孩子近期的数学学习" in body
    assert "关注的问题及拟采取的方法：作业拖拉：和家长约定固定的作业时间" in body
    assert "值得肯定的优点：" not in body  # empty parts are left out
    with scopes_disabled():
        visit_record_draft_save(visit=visit, user=district.users["head_a1"],
                                data={"preparation": "草稿里的准备"})
    body = client.get(f"/visits/{visit.pk}/record/").content.decode()
    assert "草稿里的准备" in body and "沟通话题：" not in body


# --- API --------------------------------------------------------------------------------------

def put(client, url, data, **headers):
    return client.put(url, json.dumps(data), content_type="application/json", headers=headers)


def test_api_get_and_put_with_if_match(district, campaign, login):
    """G2: the notes' ETag; PUT needs If-Match ("0" before any notes): 428 without, 412 stale
    (nothing written); server-owned fields in the body are ignored (B8)."""
    history(district, campaign)
    visit = visit_to(district, campaign)
    client = login(district.users["head_a1"])
    url = f"{API}/{visit.pk}/preparation"
    got = client.get(url)
    assert got.status_code == 200 and got["ETag"] == '"0"'
    data = got.json()
    assert data["notes"] is None and data["can_edit"] is True
    names = {c["name"]: c for c in data["children"]}
    assert names["王小红"]["class_name"] == "三年级(2)班"
    assert names["王小红"]["focus"] == [{"name": "留守学生及单亲家庭学生", "reason": ""}]
    assert names["王小明"]["key_points"][0]["strengths"] == "王小明乐于助人"
    assert [d["text"] for d in data["open_demands"]] == ["希望多关注孩子的数学"]
    assert data["previous_visits"][0]["status"] == "declined"
    body = {"topics": "数学", "concerns": "作业", "version": 9, "school": 99}
    assert put(client, url, body).status_code == 428
    saved = put(client, url, body, **{"If-Match": '"0"'})
    assert saved.status_code == 200, saved.content
    assert saved["ETag"] == '"1"' and saved.json()["notes"]["version"] == 1
    assert saved.json()["notes"]["strengths_to_praise"] == ""
    stale = put(client, url, {"topics": "别人的"}, **{"If-Match": '"0"'})
    assert stale.status_code == 412 and stale["ETag"] == '"1"'
    assert notes().topics == "数学" and notes().school_id == district.school_a.pk
    invalid = put(client, url, {"topics": ""}, **{"If-Match": '"1"'})
    assert invalid.status_code == 422 and "请至少填写一项" in invalid.json()["detail"]
    assert client.get(url).json()["notes"]["topics"] == "数学"
    principal = login(district.users["principal_a"])
    assert principal.get(url).json()["can_edit"] is False
    assert put(principal, url, {"topics": "改"}, **{"If-Match": '"1"'}).status_code == 403


# --- query counts ------------------------------------------------------------------------------

def grow(district, campaign, n: int, start: int) -> None:
    """n earlier recorded visits of the sibling family (two demands each, one left open) and
    of another family."""
    with scopes_disabled():
        for i in range(start, start + n):
            for family in ("siblings", "a1_only"):
                when = at(3 + i % 3, 1 + i % 28, 8 + i % 10)
                schedule_and_record(district, campaign, district.families[family],
                                    when=when, visited_at=when,
                                    parent_demands=[(f"诉求{family}{i}", None),
                                                    (f"已办{family}{i}", None)])
            ParentDemand.objects.filter(text__startswith="已办").update(status="resolved")


@pytest.mark.parametrize(("persona", "path"), [
    ("head_a1", "/visits/{pk}/prepare/"), ("principal_a", "/visits/{pk}/prepare/"),
    ("head_a2", "/visits/{pk}/prepare/"), ("head_a1", "/api/v1/visits/{pk}/preparation"),
    ("head_a1", "/visits/{pk}/record/"), ("head_a1", "/visits/{pk}/"),
])
def test_queries_do_not_grow_with_history(district, campaign, client, persona, path):
    """Principle 6: the preparation page and API (and the pages that link or pre-fill from it)
    run the same number of queries when the family's history grows tenfold."""
    visit = visit_to(district, campaign, when=at(6, 20, 18))
    client.force_login(district.users["head_a1"])
    client.post(f"/visits/{visit.pk}/prepare/", prepare_post())
    client.force_login(district.users[persona])
    url = path.format(pk=visit.pk)

    def count() -> int:
        client.get(url)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        assert response.status_code == 200, url
        return len(ctx.captured_queries)

    grow(district, campaign, 2, 0)
    small = count()
    grow(district, campaign, 20, 100)
    large = count()
    assert large == small, f"{small} -> {large} queries"


def test_a_finished_visit_shows_only_what_was_known_before_it(district, campaign, client):
    """Someone who led a visit long ago must not read, through its preparation page, what
    other teachers recorded about the family since (B5, B11)."""
    from jiafang.visits.tests.conftest import children_parts

    with scopes_disabled():
        first, _record = schedule_and_record(district, campaign, district.families["siblings"],
                                             when=at(4, 15, 17), visited_at=at(4, 15, 17))
        later = {pk: {**parts, "strengths": "后来记录的优点"} for pk, parts in
                 children_parts(district.families["siblings"]).items()}
        schedule_and_record(district, campaign, district.families["siblings"],
                            when=at(5, 10, 17), visited_at=at(5, 10, 17), children=later,
                            parent_demands=[("后来提出的诉求", None)])
    client.force_login(district.users["head_a1"])
    old = client.get(f"/visits/{first.pk}/prepare/").content.decode()
    assert "后来记录的优点" not in old and "后来提出的诉求" not in old
    api = client.get(f"{API}/{first.pk}/preparation").content.decode()
    assert "后来记录的优点" not in api and "后来提出的诉求" not in api
    upcoming = visit_to(district, campaign, when=at(6, 1, 17))
    fresh = client.get(f"/visits/{upcoming.pk}/prepare/").content.decode()
    assert "后来记录的优点" in fresh and "后来提出的诉求" in fresh
