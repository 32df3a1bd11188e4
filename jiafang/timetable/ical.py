"""A teacher's visits as an iCalendar feed (RFC 5545) for phone calendars (R8).

Privacy (R23.10): phone calendars sync to clouds outside the school's control, so an event
carries only what a teacher needs to recognise the appointment: SUMMARY "家访 · 三年级(2)班 张*"
(the first child's class and surname, of the children the teacher may see), the time with its
time zone, the status and a link to the visit page (which needs a login). No address, phone,
guardian, full child name, focus category or record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import icalendar
from django.utils import timezone

from jiafang.timetable.selectors import FeedEntry
from jiafang.visits.defaults import LOCAL_TZ
from jiafang.visits.models import Visit

STATUS = {
    Visit.Status.PROPOSED: "TENTATIVE",
    Visit.Status.CONFIRMED: "CONFIRMED",
    Visit.Status.DONE: "CONFIRMED",
    Visit.Status.CANCELLED: "CANCELLED",
    Visit.Status.DECLINED: "CANCELLED",
}


def visit_uid(visit: Visit) -> str:
    """Stable per visit: a reschedule updates the same event on the phone."""
    return f"visit-{visit.pk}@jiafang"


def feed_calendar(entries: list[FeedEntry], *, name: str,
                  visit_url: Callable[[Visit], str]) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Jiafang//Home visits//ZH")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", "Asia/Shanghai")
    calendar.add("refresh-interval", dt.timedelta(hours=1), parameters={"VALUE": "DURATION"})
    now = timezone.now()
    for entry in entries:
        visit = entry.visit
        local = visit.scheduled_at.astimezone(LOCAL_TZ)
        event = icalendar.Event()
        event.add("uid", visit_uid(visit))
        event.add("dtstamp", now)
        event.add("last-modified", visit.updated_at)
        event.add("sequence", visit.version)
        event.add("dtstart", local)
        event.add("dtend", local + dt.timedelta(minutes=visit.duration_minutes))
        event.add("summary", entry.summary)
        event.add("status", STATUS[visit.status])
        event.add("url", visit_url(visit))
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
