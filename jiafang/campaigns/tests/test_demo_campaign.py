"""seed_demo gives the demo district a current campaign with three extra record fields."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from jiafang.accounts.models import User
from jiafang.campaigns.models import Campaign
from jiafang.campaigns.selectors import record_form_fields
from jiafang.demo.generator import demo_campaign_values

pytestmark = pytest.mark.django_db


@override_settings(DEMO_MODE=True, DEBUG=False)
def test_demo_has_a_current_campaign_with_extra_fields(client):
    call_command("seed_demo", "--students", "300", "--schools", "3", stdout=StringIO())
    campaign = Campaign.objects.get()
    # the notice's dates while they contain today, else the school year (demo_campaign_values)
    defaults = demo_campaign_values(timezone.localdate())
    assert (campaign.starts_on, campaign.ends_on, campaign.plan_due_on,
            campaign.summary_due_on) == (defaults["starts_on"], defaults["ends_on"],
                                         defaults["plan_due_on"], defaults["summary_due_on"])
    extras = [(f.label, f.kind) for f in record_form_fields(campaign) if not f.fixed]
    assert extras == [("家访反思", "text"), ("跟进措施", "text"), ("家长签名确认", "yes_no")]
    client.force_login(User.objects.get(username="head1"))
    body = client.get("/campaigns/").content.decode()
    assert campaign.name in body
    call_command("seed_demo", "--delete", stdout=StringIO())
    assert not Campaign.objects.exists()
