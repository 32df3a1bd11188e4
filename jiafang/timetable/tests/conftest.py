"""Helpers for the timetable tests: a campaign of this year, visits scheduled from the persona
district (in the past for the calendar, ahead for parent links), and clean rate-limit counters."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.utils import timezone
from django_scopes import scopes_disabled

from jiafang.conftest import make_campaign
from jiafang.visits.defaults import LOCAL_TZ
from jiafang.visits.services import visit_schedule


@pytest.fixture(autouse=True)
def _clean_rate_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def campaign(district):
    return make_campaign(district, today=timezone.localdate())


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LOCAL_TZ)


def ahead(days: int, hour: int = 18) -> dt.datetime:
    """A local time `days` days from today."""
    return local(timezone.localdate() + dt.timedelta(days=days), hour)


def schedule(district, campaign, *, family="a1_only", lead="head_a1", companions=(),
             when=None, minutes=60):
    with scopes_disabled():
        return visit_schedule(
            campaign=campaign, family=district.families[family] if isinstance(family, str)
            else family, lead=district.users[lead],
            companions=[district.users[c] for c in companions],
            scheduled_at=when or ahead(3), duration_minutes=minutes, form="in_person",
            by=district.users[lead]).visit
