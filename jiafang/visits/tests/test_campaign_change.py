"""Changing a campaign's counting forms or period re-evaluates coverage at once (R3, R5)."""

from jiafang.campaigns.services import campaign_update
from jiafang.visits.models import CampaignSchoolFigures
from jiafang.visits.tests.conftest import live_figures, schedule_and_record


def test_counting_phone_visits_moves_coverage(district, campaign, scoped):
    family = district.families["a1_only"]
    _visit, record = schedule_and_record(district, campaign, family, form="phone")
    assert not record.counts
    figures = CampaignSchoolFigures.objects.get(campaign=campaign, school=district.school_a)
    assert figures.families_visited == 0
    campaign_update(campaign=campaign, by=district.users["bureau_officer"],
                    counting_forms=["in_person", "phone"])
    figures.refresh_from_db()
    record.refresh_from_db()
    assert record.counts and figures.families_visited == 1
    assert live_figures(campaign, district.school_a)["families_visited"] == 1
    campaign_update(campaign=campaign, by=district.users["bureau_officer"],
                    counting_forms=["in_person"])
    figures.refresh_from_db()
    assert figures.families_visited == 0


def test_a_roster_transfer_moves_the_bureau_figures(district, campaign, scoped):
    """A visited child who transfers out leaves the bureau's coverage at the next import."""
    from jiafang.roster.services import roster_import
    from jiafang.roster.tests.conftest import csv_bytes

    schedule_and_record(district, campaign, district.families["a2_only"])
    figures = CampaignSchoolFigures.objects.get(campaign=campaign, school=district.school_a)
    assert figures.students_visited == 1
    roster_import(school=district.school_a, file_name="r.csv", by=None, data=csv_bytes([
        ["学号", "姓名", "班级", "学籍状态"], ["A0004", "赵一", "三(2)班", "转出"]]))
    figures.refresh_from_db()
    assert figures.students_visited == 0
    assert live_figures(campaign, district.school_a)["students_visited"] == 0
