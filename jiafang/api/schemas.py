"""Output pieces several API modules share: a person (a teacher), a child, a booked visit and
the error body. One class per name: django-ninja keys the OpenAPI components by class name, so two `ChildOut`s in two
modules left one of them undocumented."""

from __future__ import annotations

import datetime as dt

from ninja import Schema


class PersonOut(Schema):
    id: int
    name: str


class ChildOut(Schema):
    id: int
    name: str
    class_id: int
    class_name: str


class NextVisitOut(Schema):
    id: int
    scheduled_at: dt.datetime | None
    status: str
    lead_name: str


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] = {}


def person_out(user) -> dict | None:
    return None if user is None else {"id": user.pk, "name": user.display_name}


def child_out(student) -> dict:
    """A student loaded with `school_class`."""
    return {"id": student.pk, "name": student.name, "class_id": student.school_class_id,
            "class_name": student.school_class.name}
