"""Scoped reads of campaigns. Every lookup from a URL goes through `get_campaign_for_user`.

Who sees a campaign (R1, R2):
- bureau officers: the campaigns of their bureau and its sub-bureaus (and may change them);
- school staff (every school role): the campaigns their school takes part in — those of the
  school's bureau or a parent bureau marked "all schools", and those that list the school.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from jiafang.accounts.models import Role, User
from jiafang.campaigns.defaults import FIXED_FIELDS, FormField
from jiafang.campaigns.models import Campaign, CampaignField
from jiafang.schools.models import Bureau, School
from jiafang.schools.scoping import access_for, bureau_edges, bureau_tree, id_or_404


def _staff_school_ids(user: User) -> frozenset[int]:
    access = access_for(user)
    return (access.managed_school_ids | access.safety_school_ids | access.focus_school_ids
            | access.class_school_ids)


def _ancestors(bureau_ids: set[int], edges: list) -> set[int]:
    """The bureaus and every bureau above them (a district's city)."""
    parents = dict(edges)
    result: set[int] = set()
    for pk in bureau_ids:
        while pk is not None and pk not in result:
            result.add(pk)
            pk = parents.get(pk)
    return result


def campaigns_for_user(user: User) -> QuerySet[Campaign]:
    """Campaigns the user may read (name, period, deadlines, record form)."""
    access = access_for(user)
    condition = Q(bureau_id__in=access.bureau_ids)
    school_ids = _staff_school_ids(user)
    if school_ids:
        condition |= Q(bureau_id__in=_ancestors(set(access.staff_bureau_ids), bureau_edges(user)),
                       all_schools=True)
        condition |= Q(participations__school_id__in=school_ids)
    return Campaign.objects.filter(pk__in=Campaign.objects.filter(condition).values("pk"))


def can_change_campaign(user: User, campaign: Campaign) -> bool:
    return campaign.bureau_id in access_for(user).bureau_ids


def get_campaign_for_user(user: User, pk: object) -> Campaign:
    """The campaign, or 404 when it is missing or out of the user's scope: the rule of
    `campaigns_for_user`, checked on the one row (a hot lookup: every coverage read starts
    here, and the filtered queryset costs more to build than to run)."""
    try:
        campaign = Campaign.objects.select_related("bureau").get(pk=id_or_404(pk))
    except Campaign.DoesNotExist:
        raise Http404 from None
    access = access_for(user)
    if campaign.bureau_id in access.bureau_ids:
        return campaign
    school_ids = _staff_school_ids(user)
    if school_ids and campaign.all_schools and campaign.bureau_id in _ancestors(
            set(access.staff_bureau_ids), bureau_edges(user)):
        return campaign
    if school_ids and campaign.participations.filter(school_id__in=school_ids).exists():
        return campaign
    raise Http404


def get_campaign_for_change(user: User, pk: object) -> Campaign:
    """404 out of scope; 403 where the user may read the campaign but not change it."""
    campaign = get_campaign_for_user(user, pk)
    if not can_change_campaign(user, campaign):
        raise PermissionDenied
    return campaign


def bureaus_for_create(user: User) -> QuerySet[Bureau]:
    """Bureaus the user may create campaigns in: 404 for people without any role, 403 for
    school staff (they may read campaigns, not make them)."""
    access = access_for(user)
    if not access.bureau_ids:
        if _staff_school_ids(user):
            raise PermissionDenied
        raise Http404
    return Bureau.objects.filter(pk__in=access.bureau_ids).order_by("code")


def participating_school_ids(campaign: Campaign, *, edges: list | None = None) -> QuerySet:
    """A queryset of the ids of the schools taking part in the campaign (one query when used;
    `edges`: the request's `scoping.bureau_edges(user)`, else the tree is read once more)."""
    if campaign.all_schools:
        return campaign_school_choices(campaign.bureau, edges=edges).values("pk")
    return campaign.participations.values("school_id")


def campaign_includes_school(campaign: Campaign, school_id: int) -> bool:
    return School.objects.filter(pk=school_id, pk__in=participating_school_ids(campaign)).exists()


def participating_schools(user: User, campaign: Campaign) -> tuple[list[School], int]:
    """The participating schools the user may see by name, and how many others take part.

    Officers see every name; school staff see their own school's, the others are only counted
    (when the campaign is for all schools, the template says so instead of a count)."""
    visible_ids = access_for(user).school_ids
    if campaign.all_schools:
        schools = list(campaign_school_choices(campaign.bureau).filter(pk__in=visible_ids))
        return schools, 0
    ids = set(campaign.participations.values_list("school_id", flat=True))
    schools = list(School.objects.filter(pk__in=ids & visible_ids).order_by("code"))
    return schools, len(ids) - len(schools)


def campaign_school_choices(bureau: Bureau, *, edges: list | None = None) -> QuerySet[School]:
    """Schools a campaign of this bureau may list: its own and its sub-bureaus' schools. The
    bureau tree is read once per bureau object (a request asks several times)."""
    tree = bureau.__dict__.get("_jiafang_tree")
    if tree is None:
        tree = bureau.__dict__["_jiafang_tree"] = bureau_tree({bureau.pk}, edges)
    return School.objects.filter(bureau_id__in=tree).order_by("code")


def current_campaign(campaigns: list[Campaign], today: dt.date) -> Campaign | None:
    """The one whose period contains today (latest start wins), else the latest started,
    else the next to start. Archived campaigns are never current."""
    live = [c for c in campaigns if not c.archived]
    running = [c for c in live if c.starts_on <= today <= c.ends_on]
    started = [c for c in live if c.starts_on <= today]
    if running:
        return max(running, key=lambda c: (c.starts_on, c.pk))
    if started:
        return max(started, key=lambda c: (c.starts_on, c.pk))
    upcoming = [c for c in live if c.starts_on > today]
    return min(upcoming, key=lambda c: (c.starts_on, c.pk)) if upcoming else None


@dataclass
class CampaignList:
    current: list[Campaign]  # one per bureau
    history: list[Campaign]


def campaign_list(user: User, today: dt.date | None = None) -> CampaignList:
    """The user's campaigns: the current one of each bureau first, then the rest, newest first."""
    today = today or timezone.localdate()
    campaigns = list(campaigns_for_user(user).select_related("bureau")
                     .order_by("-starts_on", "-pk"))
    by_bureau: dict[int, list[Campaign]] = {}
    for c in campaigns:
        by_bureau.setdefault(c.bureau_id, []).append(c)
    current = [cur for group in by_bureau.values()
               if (cur := current_campaign(group, today)) is not None]
    current_ids = {c.pk for c in current}
    return CampaignList(current=current, history=[c for c in campaigns if c.pk not in current_ids])


def current_campaign_for_school(user: User, school: School,
                                today: dt.date | None = None) -> Campaign | None:
    """The current campaign the school takes part in, among those the user may read."""
    today = today or timezone.localdate()
    condition = (Q(bureau_id__in=_ancestors({school.bureau_id}, bureau_edges(user)), all_schools=True)
                 | Q(participations__school_id=school.pk))
    campaigns = list(campaigns_for_user(user).filter(
        pk__in=Campaign.objects.filter(condition).values("pk")))
    return current_campaign(campaigns, today)


def record_form_fields(campaign: Campaign) -> list[FormField]:
    """The campaign's record form: the eleven fixed fields of 附件2, then the bureau's extras."""
    extras = getattr(campaign, "prefetched_fields", None)
    if extras is None:
        extras = list(CampaignField.objects.filter(campaign=campaign).order_by("position", "pk"))
    return list(FIXED_FIELDS) + [
        FormField(key=f.key, label=f.label, kind=f.kind, choices=list(f.choices or []),
                  required=f.required, fixed=False, pk=f.pk, position=f.position)
        for f in extras
    ]


def days_left(day: dt.date, today: dt.date | None = None) -> int:
    return (day - (today or timezone.localdate())).days


def default_bureau_for_user(user: User) -> Bureau | None:
    """The bureau of the user's first bureau-officer role (where a new campaign goes)."""
    bureau_id = (Role.objects.filter(user=user, kind=Role.Kind.BUREAU_OFFICER)
                 .order_by("pk").values_list("bureau_id", flat=True).first())
    return Bureau.objects.filter(pk=bureau_id).first() if bureau_id else None
