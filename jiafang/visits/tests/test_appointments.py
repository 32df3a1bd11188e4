"""Scheduling and the appointment state machine (R8, R10, R17, R23.2; issue 3 point 4)."""

import pytest
from django.core.exceptions import ValidationError

from jiafang.conftest import make_campaign
from jiafang.visits.defaults import DEFAULT_TEACHING_HOURS
from jiafang.visits.models import StudentVisitStatus, Visit, VisitEvent
from jiafang.visits.services import (
    StaleVersion,
    in_teaching_hours,
    visit_cancel,
    visit_confirm,
    visit_decline,
    visit_record_submit,
    visit_reschedule,
    visit_schedule,
)
from jiafang.visits.tests.conftest import assert_figures_true, at, record_kwargs

pytestmark = pytest.mark.usefixtures("scoped")


def schedule(district, campaign, family="siblings", lead="head_a1", companions=(), when=None,
             **extra):
    return visit_schedule(
        campaign=campaign, family=district.families[family], lead=district.users[lead],
        companions=[district.users[c] for c in companions],
        scheduled_at=when if when is not None else at(4, 15, 17),
        duration_minutes=extra.pop("duration_minutes", 60), form=extra.pop("form", "in_person"),
        by=district.users[lead])


def codes(result):
    return [w.code for w in result.warnings]


def test_schedule_proposes_a_visit_with_companions_and_an_event(district, campaign):
    result = schedule(district, campaign, companions=["subject_a1", "head_a1"])
    visit = result.visit
    assert visit.status == Visit.Status.PROPOSED and visit.version == 1
    assert visit.school_id == district.school_a.pk
    # the lead is not their own companion
    assert list(visit.companions.values_list("user_id", flat=True)) == [
        district.users["subject_a1"].pk]
    event = VisitEvent.objects.get(visit=visit)
    assert event.kind == "scheduled" and event.by == district.users["head_a1"]
    assert result.warnings == []  # Tuesday 17:00, inside the period, nobody else booked


def test_double_booking_of_lead_or_companion_is_a_warning(district, campaign):
    schedule(district, campaign, family="siblings", when=at(4, 15, 17))
    # the head teacher goes along as companion half an hour later: overlap
    clash = schedule(district, campaign, family="a1_only", lead="subject_a1",
                     companions=["head_a1"], when=at(4, 15, 17, 30))
    assert codes(clash) == ["double_booking"]
    warning = clash.warnings[0]
    assert warning.data["teacher_ids"] == [district.users["head_a1"].pk]
    assert "时间冲突" in warning.message
    # right after the second one ends (17:30 + 60 min): no clash; and nothing is refused
    later = schedule(district, campaign, family="a2_only", when=at(4, 15, 18, 30))
    assert "double_booking" not in codes(later)
    assert Visit.objects.count() == 3


def test_cancelled_and_declined_visits_do_not_block_the_time(district, campaign):
    first = schedule(district, campaign, when=at(4, 15, 17)).visit
    visit_cancel(visit=first, reason="老师临时有事", by=district.users["head_a1"])
    second = schedule(district, campaign, family="a1_only", when=at(4, 15, 17))
    assert codes(second) == []
    visit_decline(visit=second.visit, reason="家长出差", by=None)
    assert codes(schedule(district, campaign, family="a2_only", when=at(4, 15, 17))) == []


def test_teaching_hours_and_period_warnings(district, campaign):
    assert codes(schedule(district, campaign, when=at(4, 15, 10))) == ["teaching_hours"]
    # ends inside the afternoon lessons
    assert codes(schedule(district, campaign, family="a1_only",
                          when=at(4, 16, 12, 45))) == ["teaching_hours"]
    # Saturday morning is free; lunch break is free
    assert codes(schedule(district, campaign, family="a2_only", when=at(4, 19, 10))) == []
    assert not in_teaching_hours(at(4, 16, 11, 40), 110, DEFAULT_TEACHING_HOURS)
    assert in_teaching_hours(at(4, 16, 11, 40), 111, DEFAULT_TEACHING_HOURS)
    assert codes(schedule(district, campaign, family="a1_only", lead="subject_a1",
                          when=at(8, 2, 19))) == ["outside_period"]


def test_schedule_checks_school_family_teachers_and_campaign(district, campaign):
    with pytest.raises(ValidationError) as error:
        schedule(district, campaign, lead="head_b1")  # a teacher of another school
    assert "lead" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        schedule(district, campaign, companions=["principal_b"])
    assert "companions" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        schedule(district, campaign, duration_minutes=0, form="carrier_pigeon")
    assert set(error.value.message_dict) == {"duration_minutes", "form"}
    only_b = make_campaign(district, name="B校专项", all_schools=False,
                           school_ids=[district.school_b.pk])
    with pytest.raises(ValidationError) as error:
        schedule(district, only_b)
    assert "campaign" in error.value.message_dict
    assert Visit.objects.count() == 0


def test_confirm_reschedule_and_the_version(district, campaign):
    visit = schedule(district, campaign).visit
    visit_confirm(visit=visit, by=None)  # the parent link
    assert visit.status == "confirmed" and visit.version == 2
    visit_confirm(visit=visit, by=None)  # double click: nothing changes
    assert visit.version == 2
    with pytest.raises(StaleVersion):
        visit_reschedule(visit=visit, scheduled_at=at(4, 17, 18), by=None, expected_version=1)
    result = visit_reschedule(visit=visit, scheduled_at=at(4, 17, 10), by=None,
                              expected_version=2)
    visit.refresh_from_db()
    assert visit.status == "proposed" and visit.version == 3
    assert visit.scheduled_at == at(4, 17, 10)
    assert codes(result) == ["teaching_hours"]
    kinds = list(visit.events.values_list("kind", flat=True))
    assert kinds == ["scheduled", "confirmed", "rescheduled"]
    moved = visit.events.get(kind="rescheduled").data
    assert moved["old"].startswith(f"{at(4, 15, 17).isoformat()[:10]}")


def test_decline_and_cancel_need_a_reason_and_end_the_visit(district, campaign):
    visit = schedule(district, campaign).visit
    with pytest.raises(ValidationError):
        visit_decline(visit=visit, reason="  ", by=None)
    with pytest.raises(ValidationError):
        visit_cancel(visit=visit, reason="", by=district.users["head_a1"])
    visit_decline(visit=visit, reason="家里老人住院，暂不方便", by=None)
    visit.refresh_from_db()
    assert visit.status == "declined" and visit.status_reason == "家里老人住院，暂不方便"
    # both enrolled children of the sibling family are declined, not visited
    rows = StudentVisitStatus.objects.filter(campaign=campaign)
    assert {(r.student_id, r.visited, r.declined) for r in rows} == {
        (district.students["a1_sibling"].pk, False, True),
        (district.students["a2_sibling"].pk, False, True)}
    assert_figures_true(campaign, district)
    for call in (lambda: visit_confirm(visit=visit, by=None),
                 lambda: visit_cancel(visit=visit, reason="x", by=None),
                 lambda: visit_reschedule(visit=visit, scheduled_at=at(5, 1, 18), by=None,
                                          expected_version=None),
                 lambda: visit_record_submit(visit=visit, **record_kwargs(visit))):
        with pytest.raises(ValidationError):
            call()
    assert visit.events.count() == 2


def test_a_later_recorded_visit_replaces_declined(district, campaign):
    visit = schedule(district, campaign).visit
    visit_decline(visit=visit, reason="改天再来", by=None)
    again = schedule(district, campaign, when=at(5, 10, 9)).visit
    visit_record_submit(visit=again, **record_kwargs(again, visited_at=at(5, 10, 9)))
    rows = StudentVisitStatus.objects.filter(campaign=campaign)
    assert {(r.visited, r.declined) for r in rows} == {(True, False)}
    assert_figures_true(campaign, district)
