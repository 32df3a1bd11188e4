"""The week calendar, its API and the feed run a constant number of queries when the visits of
the week grow tenfold (principle 6)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django_scopes import scopes_disabled

from jiafang.conftest import make_family, make_student, page_queries
from jiafang.timetable.services import calendar_feed_create
from jiafang.timetable.tests.conftest import ahead, local, schedule

MONDAY = dt.date(2025, 4, 14)
WEEK = "2025-W16"


def grow(district, campaign, n: int, start: int, *, when) -> None:
    """n new families of class 3(1) (every third with a sibling in 3(2)), each visited by
    head_a1 with a companion (every other one led by the principal, head_a1 joining)."""
    with scopes_disabled():
        for i in range(start, start + n):
            family = make_family(district.school_a, f"QF{i}", guardian=f"家长{i}",
                                 phone=f"1371{i:07d}")
            make_student(district.class_a1, family, f"Q{i:05d}", f"学生{i}")
            if i % 3 == 0:
                make_student(district.class_a2, family, f"QS{i:05d}", f"妹妹{i}")
            lead, companions = (("head_a1", ["subject_a1"]) if i % 2 else
                                ("principal_a", ["head_a1", "subject_a1"]))
            schedule(district, campaign, family=family, lead=lead, companions=companions,
                     when=when(i))


PAGES = [
    ("head_a1", lambda d: f"/calendar/?week={WEEK}"),
    ("coordinator_a", lambda d: f"/calendar/?week={WEEK}&teacher={d.users['head_a1'].pk}"),
    ("subject_a1", lambda d: f"/calendar/?week={WEEK}"),
    ("head_a1", lambda d: f"/api/v1/timetable/week?week={WEEK}"),
    ("principal_a", lambda d: f"/api/v1/timetable/week?week={WEEK}"
                              f"&teacher={d.users['subject_a1'].pk}"),
]


@pytest.mark.parametrize(("persona", "url"), PAGES,
                         ids=[f"{p}-{i}" for i, (p, _u) in enumerate(PAGES)])
def test_calendar_queries_do_not_grow_with_visits(persona, url, district, campaign, client):
    def when(i):
        return local(MONDAY + dt.timedelta(days=i % 7), 17 + i % 3)

    client.force_login(district.users[persona])
    grow(district, campaign, 4, 0, when=when)
    small = page_queries(client, url(district))
    grow(district, campaign, 36, 100, when=when)
    large = page_queries(client, url(district))
    assert large == small, f"{small} -> {large} queries"
    assert large <= 12


def test_feed_queries_do_not_grow_with_visits(district, campaign):
    def when(i):
        return ahead(1 + i % 20, 17 + i % 3)

    _feed, raw = calendar_feed_create(user=district.users["head_a1"])
    phone = Client()
    grow(district, campaign, 4, 0, when=when)
    small = page_queries(phone, f"/calendar/feed/{raw}.ics")
    grow(district, campaign, 36, 100, when=when)
    large = page_queries(phone, f"/calendar/feed/{raw}.ics")
    assert large == small, f"{small} -> {large} queries"
    assert large <= 12
