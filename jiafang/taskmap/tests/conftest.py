"""The task map tests' fixtures: the visit tests' 2025 campaign and request-like scope, and
helpers to add teachers and families to the persona district."""

from __future__ import annotations

import zlib

import pytest

from jiafang.accounts.models import Role
from jiafang.accounts.services import role_grant
from jiafang.conftest import make_family, make_student, make_user
from jiafang.taskmap.services import taskmap_draft
from jiafang.visits.tests.conftest import campaign, scoped  # noqa: F401

HEAD = Role.Kind.HEAD_TEACHER
SUBJECT = Role.Kind.SUBJECT_TEACHER


def add_teacher(username: str, school_class, *, kind: str = SUBJECT, subject: str = "语文"):
    user = make_user(username)
    role_grant(user=user, kind=kind, school_class=school_class, subject=subject)
    return user


def add_family(school_class, code: str, *, community: str = "塘桥社区", street: str = "遥观镇",
               latitude=None, longitude=None, name: str = ""):
    family = make_family(school_class.school, code, guardian=f"家长{code}",
                         phone=f"139{zlib.crc32(code.encode()) % 10**8:08d}", community=community)
    family.street, family.latitude, family.longitude = street, latitude, longitude
    family.save(update_fields=["street", "latitude", "longitude"])
    make_student(school_class, family, f"S{code}", name or f"学生{code}")
    return family


@pytest.fixture
def drafted(district, campaign, scoped):  # noqa: F811
    """School A's task map drafted by its coordinator."""
    return taskmap_draft(campaign=campaign, school=district.school_a,
                         by=district.users["coordinator_a"])
