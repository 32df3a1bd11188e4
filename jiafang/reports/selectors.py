"""Who may open which coverage view, and for which campaign (R3, R4, R5, R17).

The figures themselves come from `jiafang.visits.selectors` (coverage_for_school,
coverage_for_bureau, families_to_visit, progress_by_week); this module only answers the lookups
of the coverage pages and API, through the scoping layer: 404 for anything out of scope.

- bureau coverage: officers of the campaign's bureau (or a bureau above it);
- school coverage: the school's principal and coordinator, and bureau officers over it;
- a class's to-do list: whoever may open the class (head teacher, the class's subject
  teachers, school leaders, bureau officers): `scoping.get_class_for_user`.
"""

from __future__ import annotations

from django.http import Http404

from jiafang.accounts.models import User
from jiafang.campaigns.models import Campaign
from jiafang.campaigns.selectors import (
    campaign_includes_school,
    current_campaign_for_school,
    get_campaign_for_user,
)
from jiafang.schools import scoping
from jiafang.schools.models import School


def get_campaign_for_bureau_coverage(user: User, pk: object) -> Campaign:
    """The campaign, if the user is an officer of its bureau (or above); else 404."""
    campaign = get_campaign_for_user(user, pk)
    if campaign.bureau_id not in scoping.access_for(user).bureau_ids:
        raise Http404
    return campaign


def get_school_for_coverage(user: User, pk: object) -> School:
    """The school, if the user sees all of it (principal, coordinator, bureau officer)."""
    school = scoping.get_school_for_user(user, pk)
    if school.pk not in scoping.access_for(user).full_school_ids:
        raise Http404
    return school


def campaign_for_school(user: User, school: School, campaign_id: object = None
                        ) -> Campaign | None:
    """The campaign asked for (404 when unreadable or the school does not take part), or the
    school's current campaign when none is asked for (None when there is none)."""
    if campaign_id in (None, ""):
        return current_campaign_for_school(user, school)
    campaign = get_campaign_for_user(user, campaign_id)
    if not campaign_includes_school(campaign, school.pk):
        raise Http404
    return campaign
