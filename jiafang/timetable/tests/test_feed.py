"""The per-teacher iCalendar feed behind a secret URL (issue 3 point 4; R8, R23.10): the
teacher's appointments in the phone calendar, with as little personal data as possible."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import icalendar
from django.test import Client
from django.utils import timezone
from django_scopes import scopes_disabled

from jiafang.timetable.models import CalendarFeed
from jiafang.timetable.tests.conftest import ahead, schedule
from jiafang.visits.services import visit_cancel, visit_confirm


def create_feed(client, district, persona="head_a1") -> str:
    """The teacher creates the feed on its page; returns the URL path shown once."""
    client.force_login(district.users[persona])
    assert client.post("/calendar/feed/").status_code == 302
    page = client.get("/calendar/feed/").content.decode()
    match = re.search(r"https?://[^/\s<]+(/calendar/feed/[A-Za-z0-9_-]+\.ics)", page)
    assert match, "the feed URL is shown once"
    return match.group(1)


def events(response) -> dict[str, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(response.content)
    return {str(e["UID"]): e for e in calendar.walk("VEVENT")}


def test_feed_lists_the_teachers_visits_with_minimal_data(district, campaign, client):
    """R8, R23.10: proposed → TENTATIVE, confirmed → CONFIRMED, cancelled → CANCELLED, all with
    a stable UID and the Shanghai time zone; SUMMARY only class and surname; no phone, address
    or full child name; visits of other teachers and older than 30 days are not there."""
    led = schedule(district, campaign, when=ahead(2, 17), minutes=90)
    joined = schedule(district, campaign, family="siblings", lead="principal_a",
                      companions=["head_a1"], when=ahead(5, 18))
    cancelled = schedule(district, campaign, family="a2_only", when=ahead(7, 18))
    old = schedule(district, campaign, family="a2_only", when=ahead(-40, 18))
    other = schedule(district, campaign, family="a2_only", lead="head_a2", when=ahead(3, 18))
    with scopes_disabled():
        visit_confirm(visit=joined, by=district.users["principal_a"])
        visit_cancel(visit=cancelled, reason="临时有事", by=district.users["head_a1"])
    path = create_feed(client, district)
    response = Client().get(path)  # a phone calendar: no login, no cookie
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    found = events(response)
    assert set(found) == {f"visit-{v.pk}@jiafang" for v in (led, joined, cancelled)}
    first = found[f"visit-{led.pk}@jiafang"]
    assert first["STATUS"] == "TENTATIVE"
    assert first.decoded("DTSTART") == ahead(2, 17)
    assert first.decoded("DTSTART").tzinfo is not None
    assert first.decoded("DTEND") - first.decoded("DTSTART") == dt.timedelta(minutes=90)
    assert str(first["SUMMARY"]) == "家访 · 三年级(1)班 李*"
    assert found[f"visit-{joined.pk}@jiafang"]["STATUS"] == "CONFIRMED"
    assert found[f"visit-{cancelled.pk}@jiafang"]["STATUS"] == "CANCELLED"
    text = response.content.decode()
    assert "TZID=Asia/Shanghai" in text and "BEGIN:VTIMEZONE" in text
    for secret in ("李思", "王小明", "赵一", "13900001111", "13812345678", "塘桥路", "塘桥社区",
                   "李红", "王建国", "F-A-"):
        assert secret not in text, secret
    assert f"visit-{old.pk}@" not in text and f"visit-{other.pk}@" not in text


def test_token_is_hashed_and_rotation_kills_the_old_url(district, campaign, client):
    """The database holds the SHA-256 only; a new URL stops the old one at once; revoking stops
    the feed; unknown → 404."""
    schedule(district, campaign)
    old_path = create_feed(client, district)
    token = old_path.rsplit("/", 1)[1][:-4]
    assert CalendarFeed.objects.get(revoked_at=None).token_hash == hashlib.sha256(
        token.encode()).hexdigest()
    assert Client().get(old_path).status_code == 200
    assert token not in client.get("/calendar/feed/").content.decode()  # shown once
    new_path = create_feed(client, district)
    assert Client().get(old_path).status_code == 404
    assert Client().get(new_path).status_code == 200
    assert CalendarFeed.objects.filter(revoked_at=None).count() == 1
    client.post("/calendar/feed/revoke/")
    assert Client().get(new_path).status_code == 404
    assert Client().get("/calendar/feed/made-up.ics").status_code == 404


def test_feed_of_a_deactivated_teacher_stops(district, campaign, client):
    """B11: deactivation takes effect on the next poll."""
    path = create_feed(client, district)
    user = district.users["head_a1"]
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert Client().get(path).status_code == 404


def test_feed_follows_the_teachers_scope(district, campaign, client):
    """A teacher who leaves the school (role removed) no longer gets its visits."""
    schedule(district, campaign)
    path = create_feed(client, district)
    assert len(events(Client().get(path))) == 1
    district.users["head_a1"].roles.all().delete()
    assert len(events(Client().get(path))) == 0


def test_feed_records_when_it_was_last_synced(district, campaign, client):
    path = create_feed(client, district)
    Client().get(path)
    feed = CalendarFeed.objects.get(revoked_at=None)
    assert feed.last_used_at is not None
    assert timezone.now() - feed.last_used_at < dt.timedelta(minutes=1)
    assert "最近同步" in client.get("/calendar/feed/").content.decode()
