"""Template helpers of the timetable (no queries: they shape what the page already holds)."""

from __future__ import annotations

import datetime as dt

from django import template

from jiafang.visits.models import VisitEvent

register = template.Library()


@register.filter
def change_requests(events) -> list[dict]:
    """The parents' "家长希望改时间" events of a visit's history, each with its note, preferred
    times and whether the visit was rescheduled after it."""
    result: list[dict] = []
    for event in events or ():
        if event.kind == VisitEvent.Kind.RESCHEDULED:
            for item in result:
                item["handled"] = True
        elif event.kind == VisitEvent.Kind.CHANGE_REQUESTED:
            data = event.data or {}
            preferred = []
            for text in data.get("preferred") or ():
                try:
                    preferred.append(dt.datetime.fromisoformat(text))
                except (TypeError, ValueError):
                    continue
            result.append({"at": event.at, "note": data.get("note", ""), "preferred": preferred,
                           "handled": False})
    return result
