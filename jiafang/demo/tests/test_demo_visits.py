"""seed_demo's campaign is under way (issue 3 point 9): about 40% of families visited with full
records, visits booked in the future, a few declined, the principal of school 1 leading some;
statuses and figures built by the visit services' own re-evaluation."""

import datetime as dt

import pytest
from django.db.models import Count
from django.test import override_settings
from django.utils import timezone
from django_scopes import scopes_disabled

from jiafang.campaigns.models import Campaign
from jiafang.demo.generator import DemoSpec, demo_build, demo_campaign_values
from jiafang.schools.models import Family, School
from jiafang.visits.models import (
    CampaignSchoolFigures,
    StudentVisitStatus,
    Visit,
    VisitRecord,
    VisitRecordChild,
)
from jiafang.visits.tests.conftest import live_figures, stored_figures

pytestmark = pytest.mark.django_db


@override_settings(DEMO_MODE=True)
def test_demo_campaign_under_way():
    today = timezone.localdate()
    with scopes_disabled():
        demo_build(DemoSpec(students=600))
        campaign = Campaign.objects.get()
        assert campaign.starts_on <= today <= campaign.ends_on
        families = Family.objects.count()
        visited = StudentVisitStatus.objects.filter(campaign=campaign, visited=True) \
            .values("family").distinct().count()
        assert 0.3 * families <= visited <= 0.5 * families
        records = VisitRecord.objects.filter(visit__campaign=campaign)
        assert records.filter(counts=False).exists()  # phone visits: recorded, not counted
        assert all(campaign.starts_on <= r.visited_at.date() < today for r in records)
        assert not VisitRecordChild.objects.filter(strengths="").exists()
        # every enrolled child of a visited family is in its record
        per_record = dict(records.annotate(n=Count("children")).values_list("pk", "n"))
        assert min(per_record.values()) >= 1
        booked = Visit.objects.filter(status__in=["proposed", "confirmed"])
        assert booked.filter(status="confirmed").exists() and booked.filter(status="proposed")
        assert all(v.scheduled_at.date() > today and v.scheduled_at.date() <= campaign.ends_on
                   for v in booked)
        declined = Visit.objects.filter(status="declined")
        assert declined.exists() and not declined.filter(status_reason="").exists()
        school1 = School.objects.order_by("code").first()
        assert CampaignSchoolFigures.objects.get(campaign=campaign,
                                                 school=school1).principal_visits >= 3
        for school in School.objects.all():
            assert stored_figures(campaign, school) == live_figures(campaign, school)


def test_campaign_period_is_the_notice_s_or_the_school_year():
    spring = demo_campaign_values(dt.date(2026, 4, 1))
    assert (spring["starts_on"], spring["ends_on"]) == (dt.date(2026, 3, 1), dt.date(2026, 6, 30))
    autumn = demo_campaign_values(dt.date(2026, 11, 29))
    assert (autumn["starts_on"], autumn["ends_on"]) == (dt.date(2026, 9, 1), dt.date(2027, 6, 30))
    summer = demo_campaign_values(dt.date(2027, 7, 20))
    assert summer["starts_on"] <= dt.date(2027, 7, 20) <= summer["ends_on"]
