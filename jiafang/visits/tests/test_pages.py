"""The visit pages: schedule, the visit page and its state changes, the record with its draft
and amendments (issue 3 points 4 and 6; R6, R8, R9, R12, R17, R23; SECURITY.md G1, F11)."""

import pytest
from django_scopes import scopes_disabled

from jiafang.visits.models import (
    ParentDemand,
    StudentVisitStatus,
    Visit,
    VisitRecord,
    VisitRecordChild,
    VisitRecordDraft,
)
from jiafang.visits.services import visit_schedule
from jiafang.visits.tests.conftest import at


def propose(district, campaign, family="siblings", lead="head_a1", companions=()):
    with scopes_disabled():
        return visit_schedule(campaign=campaign, family=district.families[family],
                              lead=district.users[lead],
                              companions=[district.users[c] for c in companions],
                              scheduled_at=at(4, 15, 17), duration_minutes=60,
                              form="in_person", by=district.users[lead]).visit


def record_post(district, family="siblings", **changes):
    data = {"visited_date": "2025-04-15", "visited_time": "17:00", "form": "in_person",
            "preparation": "了解孩子近期表现", "process": "与家长交流一小时",
            "parent_demands": "希望多关注数学\n2、希望减少作业", "contents": ["family_situation",
                                                                       "school_feedback"],
            "into_family": ["family_education"], "follow_up": "下周电话回访", "no_gifts": "on"}
    with scopes_disabled():
        for s in district.families[family].students.filter(status="enrolled"):
            data[f"child.{s.pk}.strengths"] = f"{s.name}乐于助人"
            data[f"child.{s.pk}.shortcomings"] = "作业拖拉"
            data[f"child.{s.pk}.methods"] = "每天固定时间完成作业"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def count(model, **filters):
    with scopes_disabled():
        return model.objects.filter(**filters).count()


# --- schedule ---------------------------------------------------------------------------------

def test_roster_shows_schedule_link_to_head_teacher_only(district, campaign, login):
    page = login(district.users["head_a1"]).get(f"/classes/{district.class_a1.pk}/")
    assert "安排家访" in page.content.decode()
    assert f"/visits/new/?family={district.families['siblings'].pk}" in page.content.decode()
    page = login(district.users["subject_a1"]).get(f"/classes/{district.class_a1.pk}/")
    assert "安排家访" not in page.content.decode()


def test_schedule_warns_then_saves_after_confirmation(district, campaign, login):
    client = login(district.users["head_a1"])
    family = district.families["siblings"]
    url = f"/visits/new/?family={family.pk}"
    page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    assert 'selected>head_a1' in body  # the lead defaults to the teacher of the child
    data = {"date": "2025-04-15", "time": "10:00", "duration_minutes": "60",
            "lead": district.users["head_a1"].pk,
            "companions": [district.users["subject_a1"].pk], "form": "in_person"}
    page = client.post(url, data)
    body = page.content.decode()
    assert page.status_code == 200
    assert "家访时间与上课时间重叠" in body and "仍然安排" in body
    assert 'value="2025-04-15"' in body and 'value="10:00"' in body  # what was typed is kept
    assert count(Visit) == 0
    page = client.post(url, {**data, "confirm": "1"})
    assert page.status_code == 302
    with scopes_disabled():
        visit = Visit.objects.get()
        assert visit.lead == district.users["head_a1"]
        assert list(visit.companions.values_list("user_id", flat=True)) == [
            district.users["subject_a1"].pk]
    page = client.get(page["Location"])
    assert "家访时间与上课时间重叠" in page.content.decode()  # shown after saving as well


def test_schedule_page_names_only_children_in_scope(district, campaign, login):
    """B5: head_a1 schedules the sibling family; 王小红 (3(2)) is counted, not named."""
    page = login(district.users["head_a1"]).get(
        f"/visits/new/?family={district.families['siblings'].pk}").content.decode()
    assert "王小明" in page and "王小红" not in page
    assert "同家庭另有 1 个孩子在本校其他班级" in page


def test_schedule_without_warnings_saves_at_once(district, campaign, login):
    client = login(district.users["principal_a"])
    page = client.post(f"/visits/new/?family={district.families['a2_only'].pk}", {
        "date": "2025-04-19", "time": "09:00", "duration_minutes": "60",
        "lead": district.users["head_a2"].pk, "form": "in_person"})
    assert page.status_code == 302
    assert count(Visit, lead=district.users["head_a2"]) == 1


@pytest.mark.parametrize(("persona", "family", "status"), [
    ("subject_a1", "a2_only", 404),  # another class: cannot see the family
    ("head_b1", "siblings", 404),  # another school
    ("principal_b", "siblings", 404),
    ("subject_a1", "siblings", 403),  # sees the family, may not schedule
    ("mental_a", "a1_only", 403),
    ("head_a2", "siblings", 200),  # head teacher of the sibling's class
    ("coordinator_a", "a1_only", 200),
])
def test_who_may_schedule(district, campaign, login, persona, family, status):
    page = login(district.users[persona]).get(
        f"/visits/new/?family={district.families[family].pk}")
    assert page.status_code == status


# --- the visit page ---------------------------------------------------------------------------

def test_visit_page_confirm_and_stale_version(district, campaign, login):
    visit = propose(district, campaign)
    client = login(district.users["head_a1"])
    page = client.get(f"/visits/{visit.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "王小明" in body and "待确认" in body and "预约" in body
    page = client.post(f"/visits/{visit.pk}/confirm/", {"version": visit.version})
    assert page.status_code == 302
    visit.refresh_from_db()
    assert visit.status == "confirmed"
    page = client.post(f"/visits/{visit.pk}/cancel/", {"version": 1, "reason": "临时有事"})
    assert page.status_code == 409
    assert "该家访已被他人修改，请刷新后重试" in page.content.decode()
    visit.refresh_from_db()
    assert visit.status == "confirmed"


def test_decline_with_reason(district, campaign, login):
    visit = propose(district, campaign)
    client = login(district.users["head_a1"])
    page = client.post(f"/visits/{visit.pk}/decline/", {"version": visit.version, "reason": ""})
    assert page.status_code == 400
    assert "这个字段是必填项" in page.content.decode() or "必填" in page.content.decode()
    page = client.post(f"/visits/{visit.pk}/decline/",
                       {"version": visit.version, "reason": "家长出差，改为电话沟通"})
    assert page.status_code == 302
    visit.refresh_from_db()
    assert visit.status == "declined" and visit.status_reason == "家长出差，改为电话沟通"
    page = client.get(f"/visits/{visit.pk}/")
    assert "家长出差，改为电话沟通" in page.content.decode()
    assert count(StudentVisitStatus, declined=True) == 2


def test_reschedule(district, campaign, login):
    visit = propose(district, campaign)
    client = login(district.users["head_a1"])
    page = client.post(f"/visits/{visit.pk}/reschedule/",
                       {"version": visit.version, "date": "2025-04-20", "time": "18:30"})
    assert page.status_code == 302
    visit.refresh_from_db()
    assert visit.scheduled_at == at(4, 20, 18, 30) and visit.status == "proposed"


def test_visit_actions_need_the_right_to_change(district, campaign, login):
    visit = propose(district, campaign)
    page = login(district.users["subject_a1"]).post(f"/visits/{visit.pk}/confirm/",
                                                    {"version": visit.version})
    assert page.status_code == 403
    page = login(district.users["head_b1"]).post(f"/visits/{visit.pk}/confirm/",
                                                 {"version": visit.version})
    assert page.status_code == 404


# --- the record -------------------------------------------------------------------------------

def test_head_teacher_records_the_sibling_family(district, campaign, login):
    visit = propose(district, campaign)
    client = login(district.users["head_a1"])
    page = client.get(f"/visits/{visit.pk}/record/")
    body = page.content.decode()
    assert page.status_code == 200
    for text in ("学校", "测试实验小学", "王小明", "王小红", "王建国", "家访准备", "了解家庭情况",
                 "教育政策进家庭", "优点", "不足", "改进方法", "record.js"):
        assert text in body, text
    assert 'value="2025-04-15"' in body  # the appointment's date pre-filled
    page = client.post(f"/visits/{visit.pk}/record/", record_post(district))
    assert page.status_code == 302, page.content.decode()
    with scopes_disabled():
        record = VisitRecord.objects.get(visit=visit)
        assert set(VisitRecordChild.objects.filter(record=record)
                   .values_list("student_id", flat=True)) == {
            district.students["a1_sibling"].pk, district.students["a2_sibling"].pk}
        assert list(ParentDemand.objects.filter(record=record).values_list("text", flat=True)) \
            == ["希望多关注数学", "希望减少作业"]
        assert record.contents == ["family_situation", "school_feedback"]
    visit.refresh_from_db()
    assert visit.status == "done"
    assert count(StudentVisitStatus, visited=True) == 2
    page = client.get(f"/visits/{visit.pk}/record/")
    body = page.content.decode()
    assert "王小红乐于助人" in body and "修改" in body and 'name="record_version"' in body


def test_an_assigned_lead_who_teaches_none_of_the_children_opens_and_records_it(
        district, campaign, login):
    """R10: the coordinator may give a family to any teacher of the school (task map): the
    lead opens the visit, sees the child, records it; the visit shows in their lists. A teacher
    of another school still gets 404."""
    visit = propose(district, campaign, family="a2_only", lead="subject_a1")  # teaches 3(1)
    client = login(district.users["subject_a1"])
    page = client.get(f"/visits/{visit.pk}/")
    assert page.status_code == 200 and "赵一" in page.content.decode()
    assert "另有" not in page.content.decode()
    assert client.get("/api/v1/visits").json()["count"] == 1
    week = client.get("/calendar/?week=2025-W16").content.decode()  # 2025-04-15
    assert f'href="/visits/{visit.pk}/"' in week  # their week links to the visit
    response = client.post(f"/visits/{visit.pk}/record/", record_post(district, "a2_only"))
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.status == "done"
    stranger = login(district.users["head_b1"])
    assert stranger.get(f"/visits/{visit.pk}/").status_code == 404


def test_missing_methods_for_one_child_is_shown_next_to_it(district, campaign, login):
    visit = propose(district, campaign)
    client = login(district.users["head_a1"])
    sibling = district.students["a2_sibling"]
    page = client.post(f"/visits/{visit.pk}/record/",
                       record_post(district, **{f"child.{sibling.pk}.methods": ""}))
    assert page.status_code == 400
    body = page.content.decode()
    block = body[body.index(f'id="child-{sibling.pk}"'):]
    block = block[:block.index("</fieldset>")]
    assert "改进方法" in block and "请填写孩子的改进方法" in block
    other = district.students["a1_sibling"]
    assert "请填写孩子" not in body[body.index(f'id="child-{other.pk}"'):][:600]
    assert "王小明乐于助人" in body and "希望减少作业" in body  # everything typed kept
    assert "checked" in body
    assert count(VisitRecord) == 0 and count(ParentDemand) == 0
    visit.refresh_from_db()
    assert visit.status == "proposed"


def test_extra_field_error_is_shown_next_to_it(district, campaign, login):
    from jiafang.campaigns.services import campaign_field_add

    with scopes_disabled():
        campaign_field_add(campaign=campaign, by=district.users["bureau_officer"],
                           label="家长签名确认", kind="yes_no", required=True)
    visit = propose(district, campaign)
    client = login(district.users["head_a1"])
    page = client.post(f"/visits/{visit.pk}/record/", record_post(district))
    assert page.status_code == 400
    body = page.content.decode()
    assert "家长签名确认" in body and "请填写“家长签名确认”" in body
    key = next(k for k in body.split('name="extra.')[1:2])[:40].split('"')[0]
    page = client.post(f"/visits/{visit.pk}/record/",
                       record_post(district, **{f"extra.{key}": "yes"}))
    assert page.status_code == 302
    with scopes_disabled():
        assert VisitRecord.objects.get().extra == {key: True}


def test_stale_amend_is_told_and_changes_nothing(district, campaign, login):
    visit = propose(district, campaign)
    client = login(district.users["head_a1"])
    assert client.post(f"/visits/{visit.pk}/record/", record_post(district)).status_code == 302
    first = client.post(f"/visits/{visit.pk}/record/amend/",
                        record_post(district, process="第一次修改", record_version="1"))
    assert first.status_code == 302
    second = client.post(f"/visits/{visit.pk}/record/amend/",
                         record_post(district, process="第二次修改", record_version="1"))
    assert second.status_code == 409
    body = second.content.decode()
    assert "该记录已被他人修改" in body and "第二次修改" in body  # told; typed text kept
    with scopes_disabled():
        record = VisitRecord.objects.get()
        assert record.process == "第一次修改" and record.version == 2
        assert record.revisions.count() == 1
        assert ParentDemand.objects.filter(record=record).count() == 2  # demands unchanged
    page = client.get(f"/visits/{visit.pk}/record/")
    assert "修改历史" in page.content.decode()


def test_draft_saved_and_restored(district, campaign, login):
    visit = propose(district, campaign)
    client = login(district.users["head_a1"])
    page = client.post(f"/visits/{visit.pk}/record/draft/",
                       {"data": {"preparation": "草稿里的准备", "contents": ["opinions"]}},
                       content_type="application/json")
    assert page.status_code == 200 and "saved_at" in page.json()
    page = client.get(f"/visits/{visit.pk}/record/")
    body = page.content.decode()
    assert "草稿里的准备" in body and "已恢复" in body
    assert 'value="opinions" checked' in body
    # another user has their own draft (none)
    with scopes_disabled():
        assert VisitRecordDraft.objects.get().user == district.users["head_a1"]
    # without JS: the "保存草稿" button posts the form
    page = client.post(f"/visits/{visit.pk}/record/draft/", {"preparation": "表单草稿"})
    assert page.status_code == 302
    assert "表单草稿" in client.get(f"/visits/{visit.pk}/record/").content.decode()
    # the record submitted: the draft is gone
    assert client.post(f"/visits/{visit.pk}/record/", record_post(district)).status_code == 302
    assert count(VisitRecordDraft) == 0
    page = client.post(f"/visits/{visit.pk}/record/draft/", {"data": {"x": "y"}},
                       content_type="application/json")
    assert page.status_code == 422 and "草稿" in page.json()["detail"]


def test_draft_key_is_per_user_and_visit(district, campaign, login):
    from jiafang.visits.services import visit_record_draft_key

    visit = propose(district, campaign, companions=["subject_a1"])
    other = propose(district, campaign, family="a1_only")
    a = visit_record_draft_key(visit=visit, user=district.users["head_a1"])
    assert len(a) == 43  # 256 bits, base64url
    assert a != visit_record_draft_key(visit=visit, user=district.users["subject_a1"])
    assert a != visit_record_draft_key(visit=other, user=district.users["head_a1"])
    page = login(district.users["head_a1"]).get(f"/visits/{visit.pk}/record/")
    assert f'data-draft-key="{a}"' in page.content.decode()


@pytest.mark.parametrize(("persona", "status"), [
    ("head_a1", 200), ("subject_a1", 200),  # lead and companion
    ("mental_a", 403),  # sees the family (a focus child), was not there
    ("principal_a", 403),
    ("head_a2", 404),  # another class: cannot see the family
    ("head_b1", 404), ("principal_b", 404), ("other_officer", 404),
])
def test_who_may_record(district, campaign, login, persona, status):
    visit = propose(district, campaign, family="a1_only", companions=["subject_a1"])
    client = login(district.users[persona])
    assert client.get(f"/visits/{visit.pk}/record/").status_code == status
    page = client.post(f"/visits/{visit.pk}/record/draft/", {"data": {}},
                       content_type="application/json")
    assert page.status_code == status


def test_subject_teacher_of_another_class_gets_404(district, campaign, login):
    visit = propose(district, campaign, family="a2_only", lead="head_a2")
    client = login(district.users["subject_a1"])
    assert client.get(f"/visits/{visit.pk}/").status_code == 404
    assert client.get(f"/visits/{visit.pk}/record/").status_code == 404
    assert client.get("/visits/987654/").status_code == 404
