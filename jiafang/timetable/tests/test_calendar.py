"""The week calendar (issue 3 point 4; R8, R17): a teacher's visits Monday to Sunday, phone
first; principals and coordinators may look at any teacher of their school."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from jiafang.conftest import make_campaign
from jiafang.timetable.selectors import current_monday, week_label
from jiafang.timetable.tests.conftest import local, schedule
from jiafang.visits.services import visit_cancel

MONDAY = dt.date(2025, 4, 14)  # ISO week 2025-W16
WEEK = "2025-W16"


@pytest.fixture
def past_campaign(district):
    return make_campaign(district, today=dt.date(2025, 1, 1))  # 2025-03-01 .. 2025-06-30


@pytest.fixture
def visits(district, past_campaign):
    """head_a1's week: leads a1_only on Tuesday evening and joins principal_a's visit to the
    siblings on Thursday during class; a visit of the week before and head_a2's own visit."""
    c = past_campaign
    return {
        "led": schedule(district, c, when=local(MONDAY + dt.timedelta(days=1), 17, 30)),
        "joined": schedule(district, c, family="siblings", lead="principal_a",
                           companions=["head_a1", "subject_a1"],
                           when=local(MONDAY + dt.timedelta(days=3), 9, 0), minutes=45),
        "week_before": schedule(district, c, family="a2_only", when=local(MONDAY, 10) -
                                dt.timedelta(days=3)),
        "other_teacher": schedule(district, c, family="a2_only", lead="head_a2",
                                  when=local(MONDAY + dt.timedelta(days=2), 18)),
    }


def test_week_lists_only_the_teachers_visits_of_that_week(district, visits, client):
    """R8: lead or companion, Monday to Sunday; nothing of other weeks or other teachers."""
    client.force_login(district.users["head_a1"])
    response = client.get(f"/calendar/?week={WEEK}")
    assert response.status_code == 200
    body = response.content.decode()
    assert f"/visits/{visits['led'].pk}/" in body and f"/visits/{visits['joined'].pk}/" in body
    assert f"/visits/{visits['week_before'].pk}/" not in body
    assert f"/visits/{visits['other_teacher'].pk}/" not in body
    week = response.context["week"]
    assert [len(d.entries) for d in week.days] == [0, 1, 0, 1, 0, 0, 0]
    tuesday, thursday = week.days[1].entries[0], week.days[3].entries[0]
    assert (tuesday.role, thursday.role) == ("lead", "companion")
    assert "17:30–18:30" in body and "09:00–09:45" in body
    assert "李思" in body  # the family's child the head teacher sees
    assert "王小明" in body and "王小红" not in body and "另有 1 个孩子" in body
    assert "?week=2025-W15" in body and "?week=2025-W17" in body
    assert "13900001111" not in body and "塘桥路" not in body


def test_teaching_hours_are_noted_and_visits_in_class_time_flagged(district, visits, client):
    """R17: the timetable checks visits against teaching hours (the notice's default)."""
    client.force_login(district.users["head_a1"])
    response = client.get(f"/calendar/?week={WEEK}")
    week = response.context["week"]
    assert week.days[3].entries[0].in_teaching_hours  # Thursday 09:00
    assert not week.days[1].entries[0].in_teaching_hours  # Tuesday 17:30
    body = response.content.decode()
    assert "上课时间：周一至周五 08:00–11:40、13:30–16:30" in body
    assert body.count('<span class="tag focus">上课时间</span>') == 1


def test_default_is_the_current_week_of_shanghai(district, past_campaign, client):
    visit = schedule(district, past_campaign, when=local(current_monday() + dt.timedelta(days=6),
                                                         20))
    client.force_login(district.users["head_a1"])
    response = client.get("/calendar/")
    assert response.context["week"].label == week_label(current_monday())
    assert f"/visits/{visit.pk}/" in response.content.decode()
    today = timezone.localdate()
    assert response.context["week"].days[today.weekday()].is_today


def test_malformed_week_falls_back_to_this_week(district, client):
    client.force_login(district.users["head_a1"])
    response = client.get("/calendar/?week=next-tuesday")
    assert response.status_code == 200
    assert response.context["week"].label == week_label(current_monday())
    assert "无法识别的周，已显示本周。" in response.content.decode()


@pytest.mark.parametrize("persona", ["head_a2", "subject_a1", "mental_a", "principal_b",
                                     "bureau_officer", "no_role"])
def test_others_asking_for_a_teachers_week_get_404(persona, district, visits, client):
    """B4, B5: another teacher's week looks like an unknown id."""
    client.force_login(district.users[persona])
    url = f"/calendar/?week={WEEK}&teacher={district.users['head_a1'].pk}"
    response = client.get(url)
    assert response.status_code == 404
    assert client.get(f"/calendar/?week={WEEK}&teacher=987654").content == response.content


def test_coordinator_may_view_a_teacher_of_their_school(district, visits, client):
    """R17: the school's leaders follow any teacher's appointments and pick them from a list."""
    client.force_login(district.users["coordinator_a"])
    response = client.get(f"/calendar/?week={WEEK}&teacher={district.users['head_a1'].pk}")
    assert response.status_code == 200
    body = response.content.decode()
    assert "head_a1的日程" in body
    assert f"/visits/{visits['led'].pk}/" in body and f"/visits/{visits['joined'].pk}/" in body
    assert "王小红" in body  # the coordinator sees every child of the school
    assert f'<option value="{district.users["head_a2"].pk}"' in body
    assert f'&amp;teacher={district.users["head_a1"].pk}' in body  # prev/next keep the teacher
    own = client.get(f"/calendar/?week={WEEK}").content.decode()
    assert f"/visits/{visits['led'].pk}/" not in own  # their own week is their own visits


def test_principal_of_another_school_cannot_pick_this_schools_teacher(district, visits,
                                                                     client):
    client.force_login(district.users["principal_b"])
    body = client.get("/calendar/").content.decode()
    assert f'<option value="{district.users["head_a1"].pk}"' not in body
    assert f'<option value="{district.users["head_b1"].pk}"' in body


def test_cancelled_visits_are_shown_as_cancelled(district, visits, client):
    with scopes_disabled():
        visit_cancel(visit=visits["led"], reason="临时有事", by=district.users["head_a1"])
    client.force_login(district.users["head_a1"])
    body = client.get(f"/calendar/?week={WEEK}").content.decode()
    assert 'class="card visit-entry status-cancelled"' in body and "已取消" in body


def test_home_and_nav_link_to_my_calendar(district, client):
    """Teachers reach "我的日程" from every page (they go straight to their class)."""
    client.force_login(district.users["head_a1"])
    page = client.get(f"/classes/{district.class_a1.pk}/").content.decode()
    assert 'href="/calendar/"' in page and "我的日程" in page
    client.force_login(district.users["no_role"])
    assert 'href="/calendar/"' not in client.get("/").content.decode()


def test_api_week_answers_the_same_data(district, visits, client):
    """R8: GET /api/v1/timetable/week: the same visits, roles and visibility as the page."""
    client.force_login(district.users["head_a1"])
    data = client.get(f"/api/v1/timetable/week?week={WEEK}").json()
    assert data["week"] == WEEK and data["starts_on"] == "2025-04-14"
    assert data["teacher"]["id"] == district.users["head_a1"].pk
    entries = [e for day in data["days"] for e in day["visits"]]
    assert [(e["visit_id"], e["role"]) for e in entries] == [
        (visits["led"].pk, "lead"), (visits["joined"].pk, "companion")]
    joined = entries[1]
    assert joined["scheduled_at"].startswith("2025-04-17T09:00:00+08:00")
    assert [c["name"] for c in joined["children"]] == ["王小明"]
    assert joined["hidden_children"] == 1 and joined["in_teaching_hours"] is True
    assert {p["name"] for p in joined["companions"]} == {"head_a1", "subject_a1"}
    assert client.get("/api/v1/timetable/week?week=2025-16").status_code == 422
    other = client.get(f"/api/v1/timetable/week?teacher={district.users['head_a2'].pk}")
    assert other.status_code == 404
    client.force_login(district.users["principal_a"])
    data = client.get(f"/api/v1/timetable/week?week={WEEK}"
                      f"&teacher={district.users['head_a1'].pk}").json()
    assert len([e for day in data["days"] for e in day["visits"]]) == 2


@pytest.mark.parametrize("week", ["0001-W01", "9999-W52", "1999-W10"])
def test_a_week_out_of_range_falls_back_to_this_week_and_the_api_says_422(week, district,
                                                                          client):
    """A week at the calendar's ends is told like a malformed one, not a 500."""
    client.force_login(district.users["head_a1"])
    response = client.get(f"/calendar/?week={week}")
    assert response.status_code == 200
    assert response.context["week"].label == week_label(current_monday())
    assert client.get(f"/api/v1/timetable/week?week={week}").status_code == 422
