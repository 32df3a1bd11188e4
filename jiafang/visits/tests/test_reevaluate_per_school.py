"""campaign_visits_reevaluate(school_ids=…) touches only those schools' statuses and figures
(the demo generator and a per-school cron pass rely on it staying linear)."""

import pytest

from jiafang.visits.models import CampaignSchoolFigures, StudentVisitStatus
from jiafang.visits.services import campaign_visits_reevaluate
from jiafang.visits.tests.conftest import assert_figures_true, schedule_and_record

pytestmark = pytest.mark.usefixtures("scoped")


def test_reevaluate_one_school_leaves_the_others_alone(district, campaign):
    d = district
    schedule_and_record(d, campaign, d.families["siblings"])
    schedule_and_record(d, campaign, d.families["b"], lead=d.users["head_b1"])
    StudentVisitStatus.objects.filter(campaign=campaign).delete()
    CampaignSchoolFigures.objects.filter(campaign=campaign).update(students_visited=0,
                                                                   families_visited=0)
    campaign_visits_reevaluate(campaign=campaign, school_ids=[d.school_a.pk])
    assert set(StudentVisitStatus.objects.filter(campaign=campaign)
               .values_list("school_id", flat=True)) == {d.school_a.pk}
    b = CampaignSchoolFigures.objects.get(campaign=campaign, school=d.school_b)
    assert b.students_visited == 0  # not this pass's school
    campaign_visits_reevaluate(campaign=campaign, school_ids=[d.school_b.pk])
    assert_figures_true(campaign, d)
