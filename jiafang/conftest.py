"""Shared test fixtures: a small synthetic district with one person per role (the personas).

School A (primary) has classes 3(1) and 3(2); school B (junior) has class 7(1). Each class has
families, one family in school A has two children in different classes (siblings), and some
students carry focus flags. Personas are named after their role so a failing matrix row reads well.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import pytest
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from django_scopes import scopes_disabled

from jiafang.accounts.models import Role, User
from jiafang.accounts.services import role_grant
from jiafang.schools.defaults import seed_focus_categories
from jiafang.schools.models import (
    Bureau,
    Family,
    FocusCategory,
    FocusFlag,
    Guardian,
    School,
    SchoolClass,
    Student,
)
from jiafang.schools.services import school_figures_refresh

PASSWORD = "correct-horse-battery-staple"
_HASHES: dict[str, str] = {}


def password_hash(raw: str = PASSWORD) -> str:
    """Argon2 hashing is deliberately slow: hash each test password once per process."""
    if raw not in _HASHES:
        _HASHES[raw] = make_password(raw)
    return _HASHES[raw]


@dataclass
class District:
    bureau: Bureau
    other_bureau: Bureau
    school_a: School
    school_b: School
    class_a1: SchoolClass
    class_a2: SchoolClass
    class_b1: SchoolClass
    users: dict[str, User] = field(default_factory=dict)
    students: dict[str, Student] = field(default_factory=dict)
    families: dict[str, Family] = field(default_factory=dict)


def make_user(username: str, *, full_name: str = "", phone: str | None = None) -> User:
    user = User(username=username, full_name=full_name or username, phone=phone,
                password=password_hash())
    user.save()
    return user


def make_family(school: School, code: str, *, guardian: str, phone: str,
                address: str = "常州市武进区遥观镇塘桥路18号3幢201室",
                community: str = "塘桥社区") -> Family:
    family = Family.objects.create(school=school, code=code, address=address, community=community,
                                   street="遥观镇")
    Guardian.objects.create(school=school, family=family, name=guardian, relation="父亲",
                            phone=phone)
    return family


def make_student(school_class: SchoolClass, family: Family, number: str, name: str,
                 **extra) -> Student:
    return Student.objects.create(
        school=school_class.school, school_class=school_class, family=family,
        student_number=number, name=name, gender=extra.pop("gender", "F"),
        birth_date=extra.pop("birth_date", dt.date(2016, 3, 2)), **extra,
    )


def build_district() -> District:
    """The persona district. Call inside scopes_disabled()."""
    city = Bureau.objects.create(code="CZ", name="测试市教育局")
    bureau = Bureau.objects.create(code="CZJK", name="测试经开区社会事业局", parent=city)
    other = Bureau.objects.create(code="OTHER", name="另一区教育局")
    school_a = School.objects.create(bureau=bureau, code="A001", name="测试实验小学",
                                     stage=School.Stage.PRIMARY)
    school_b = School.objects.create(bureau=bureau, code="B001", name="测试初级中学",
                                     stage=School.Stage.JUNIOR)
    school_c = School.objects.create(bureau=other, code="C001", name="外区小学",
                                     stage=School.Stage.PRIMARY)
    class_a1 = SchoolClass.objects.create(school=school_a, grade=3, number=1, entry_year=2023)
    class_a2 = SchoolClass.objects.create(school=school_a, grade=3, number=2, entry_year=2023)
    class_b1 = SchoolClass.objects.create(school=school_b, grade=7, number=1, entry_year=2026)
    class_c1 = SchoolClass.objects.create(school=school_c, grade=1, number=1, entry_year=2026)
    d = District(bureau, other, school_a, school_b, class_a1, class_a2, class_b1)

    d.families["siblings"] = make_family(school_a, "F-A-1", guardian="王建国", phone="13812345678")
    d.families["a1_only"] = make_family(school_a, "F-A-2", guardian="李红", phone="13900001111")
    d.families["a2_only"] = make_family(school_a, "F-A-3", guardian="赵刚", phone="13700002222")
    d.families["b"] = make_family(school_b, "F-B-1", guardian="陈明", phone="13600003333")
    d.families["c"] = make_family(school_c, "F-C-1", guardian="周涛", phone="13500004444")

    d.students["a1_sibling"] = make_student(class_a1, d.families["siblings"], "A0001", "王小明")
    d.students["a2_sibling"] = make_student(class_a2, d.families["siblings"], "A0002", "王小红")
    d.students["a1_focus"] = make_student(class_a1, d.families["a1_only"], "A0003", "李思")
    d.students["a2_plain"] = make_student(class_a2, d.families["a2_only"], "A0004", "赵一")
    d.students["b_focus"] = make_student(class_b1, d.families["b"], "B0001", "陈晨")
    d.students["c_plain"] = make_student(class_c1, d.families["c"], "C0001", "周周")

    seed_focus_categories(FocusCategory)  # transactional tests flush the migration's rows
    mental = FocusCategory.objects.get(code="mental_health")
    left = FocusCategory.objects.get(code="left_behind_single_parent")
    now = timezone.now()
    FocusFlag.objects.create(school=school_a, student=d.students["a1_focus"], category=mental,
                             reason="情绪低落，需持续关注", set_at=now)
    FocusFlag.objects.create(school=school_a, student=d.students["a2_sibling"], category=left,
                             reason="父母在外务工", set_at=now)
    FocusFlag.objects.create(school=school_b, student=d.students["b_focus"], category=mental,
                             reason="转学适应困难", set_at=now)

    K = Role.Kind
    grants = {
        "bureau_officer": dict(kind=K.BUREAU_OFFICER, bureau=bureau),
        "city_officer": dict(kind=K.BUREAU_OFFICER, bureau=city),
        "principal_a": dict(kind=K.PRINCIPAL, school=school_a),
        "coordinator_a": dict(kind=K.COORDINATOR, school=school_a),
        "head_a1": dict(kind=K.HEAD_TEACHER, school_class=class_a1),
        "head_a2": dict(kind=K.HEAD_TEACHER, school_class=class_a2),
        "subject_a1": dict(kind=K.SUBJECT_TEACHER, school_class=class_a1, subject="数学"),
        "mental_a": dict(kind=K.MENTAL_HEALTH, school=school_a),
        "safety_a": dict(kind=K.SAFETY_OFFICER, school=school_a),
        "principal_b": dict(kind=K.PRINCIPAL, school=school_b),
        "coordinator_b": dict(kind=K.COORDINATOR, school=school_b),
        "head_b1": dict(kind=K.HEAD_TEACHER, school_class=class_b1),
        "other_officer": dict(kind=K.BUREAU_OFFICER, bureau=other),
    }
    for number, (username, grant) in enumerate(grants.items()):
        user = make_user(username, phone=f"1580000{number:04d}")
        role_grant(user=user, **grant)
        d.users[username] = user
    d.users["no_role"] = make_user("no_role", phone="15899999999")
    school_figures_refresh(school_ids=[school_a.pk, school_b.pk, school_c.pk])
    return d


@pytest.fixture
def district(db) -> District:
    with scopes_disabled():
        return build_district()


@pytest.fixture
def matrix_district(district):
    """The persona district plus the targets the access matrix and header tests need."""
    from jiafang.accounts.services import token_create
    from jiafang.campaigns.services import campaign_field_add
    from jiafang.conftest import make_student
    from jiafang.roster.services import roster_upload_create
    from jiafang.schools.models import FocusCategory

    with scopes_disabled():
        token, _raw = token_create(user=district.users["head_a1"], name="脚本")
        district.token_of_head_a1 = token.pk
        target = make_student(district.class_a1, district.families["a1_only"], "A0009", "李小")
        district.students["a1_plain_target"] = target.pk
        district.category_pk = FocusCategory.objects.get(code="academic").pk
        district.roster_upload = roster_upload_create(
            school=district.school_a, by=district.users["coordinator_a"], kind="students",
            file_name="a.csv", data="学号,姓名,班级\nA0100,某生,三(1)班\n".encode()).pk
        district.campaign = make_campaign(district)
        district.campaign_field = campaign_field_add(
            campaign=district.campaign, by=district.users["bureau_officer"], label="家访反思",
            kind="text").pk
        district.visit = _matrix_visit(district)
        # timetable: a visit still ahead (parent links need one), head_a1's calendar feed, and
        # no rate-limit counters (failed token lookups) left over from earlier tests
        from django.core.cache import cache

        from jiafang.timetable.services import calendar_feed_create
        from jiafang.visits.defaults import LOCAL_TZ
        from jiafang.visits.services import visit_schedule

        ahead = dt.datetime.combine(timezone.localdate() + dt.timedelta(days=3), dt.time(18, 0),
                                    tzinfo=LOCAL_TZ)
        district.timetable_visit = visit_schedule(
            campaign=district.campaign, family=district.families["a1_only"],
            lead=district.users["head_a1"], scheduled_at=ahead,
            by=district.users["head_a1"]).visit.pk
        district.feed_token = calendar_feed_create(user=district.users["head_a1"])[1]
        cache.clear()
    from jiafang.exports.tests.helpers import matrix_recorded_visit  # exports: a recorded visit

    district.recorded_visit = matrix_recorded_visit(district)
    return district


def _matrix_visit(district) -> int:
    """A proposed visit of head_a1 to family a1_only, two weeks into the matrix campaign."""
    from jiafang.visits.defaults import LOCAL_TZ
    from jiafang.visits.services import visit_schedule

    when = dt.datetime.combine(district.campaign.starts_on + dt.timedelta(days=14),
                               dt.time(17, 0), tzinfo=LOCAL_TZ)
    return visit_schedule(campaign=district.campaign, family=district.families["a1_only"],
                          lead=district.users["head_a1"], companions=[], scheduled_at=when,
                          duration_minutes=60, form="in_person",
                          by=district.users["head_a1"]).visit.pk


def make_campaign(district, *, bureau=None, today=None, **changes):
    """A campaign of the persona bureau with the notice's defaults (all schools take part)."""
    from jiafang.campaigns.defaults import campaign_defaults
    from jiafang.campaigns.services import campaign_create

    values = {**campaign_defaults(today or timezone.localdate()), **changes}
    with scopes_disabled():
        return campaign_create(bureau=bureau or district.bureau,
                               by=district.users["bureau_officer"], **values)


def page_queries(client, url) -> int:
    """The queries of a page (or API call) in a session's steady state: the first request
    stamps the session, the second is counted. The page must answer 200."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries)


@pytest.fixture
def login(client):
    """login("head_a1") signs the test client in as that persona."""

    def _login(user: User):
        client.force_login(user)
        return client

    return _login


def pytest_terminal_summary(terminalreporter):
    """B3: print the size of the access matrix so a shrinking matrix is visible in CI logs."""
    if hasattr(terminalreporter.config, "workerinput"):
        return  # xdist workers: the controller prints the summary once
    from jiafang.core.tests.test_access_matrix import CASES, MATRIX, PERSONAS

    terminalreporter.write_line(
        f"access matrix: {len(MATRIX)} rows ({len(CASES)} operations x {len(PERSONAS)} personas)")
    skipped = [r for r in terminalreporter.stats.get("skipped", [])
               if "BROWSER TESTS SKIPPED" in str(getattr(r, "longrepr", ""))]
    if skipped:
        terminalreporter.write_line("")
        terminalreporter.write_line("!" * 72, red=True, bold=True)
        terminalreporter.write_line(
            f"!!  {len(skipped)} BROWSER TESTS WERE SKIPPED: /usr/bin/chromium is missing.",
            red=True, bold=True)
        terminalreporter.write_line("!!  Install it: apt-get install -y chromium", red=True,
                                    bold=True)
        terminalreporter.write_line("!" * 72, red=True, bold=True)


# --- browser tests -----------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright; skipped loudly (or failed in CI) without it."""
    import os
    from pathlib import Path

    if not Path(CHROMIUM).exists():
        if os.environ.get("JIAFANG_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing and JIAFANG_REQUIRE_BROWSER=1")
        pytest.skip(f"BROWSER TESTS SKIPPED: {CHROMIUM} not found (apt-get install chromium)")
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-dev-shm-usage", "--no-first-run", "--disable-component-update",
                  "--disable-sync"],
        )
        yield chromium
        chromium.close()
