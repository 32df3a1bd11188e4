"""The synthetic demo district, built fast enough for a city (200 schools, 300,000 students).

One function, `demo_build()`, writes everything in one transaction: two bureaus, the schools,
their classes, families with guardians, students, focus flags, a login for every role, and a
campaign under way (`jiafang.demo.visits`: about `DemoSpec.visited_share` of the families
visited with records, some visits booked in the coming weeks, a few declined). The campaign's
period is the notice's (1 March – 30 June) when that contains today, else the school year that
contains today (`demo_campaign_values`: visits done must lie before today and booked ones after
it, both inside the period).
It is shared by `manage.py seed_demo` and the benchmark (`bench/run.py`).

How it stays fast: ids are precomputed (max id + 1, sequences reset at the end), so rows are
built in memory without waiting for the database and written with `bulk_create` in batches of
5,000; the password hash is computed once with `make_password` and shared by every demo
user; no query runs per row.

Deterministic: every school draws from its own `random.Random` seeded with `(seed, school
number)`, so `--seed N` gives the same names and numbers every time. Birth dates follow the
current school year and flag dates the current day; nothing else depends on the clock.

Synthetic data only. Names are random combinations of common surnames and name characters;
addresses combine the zone's public town and road names with invented house numbers.
Phone numbers are visibly patterned counters, never drawn from a real subscriber list
(mainland China has no reserved "fictional" mobile range, so we make them obviously fake):

- demo logins: 1990000SNNN (S = school 1-3, NNN = the role), e.g. 19900001001 for principal1;
  the bureau logins are 19900000001 and 19900000002;
- other staff: 199001xxxxx, counting up from 19900100001;
- guardians: 1991xxxxxxx, counting up from 19910000001.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from bisect import bisect_right
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import accumulate

from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone
from django_scopes import scopes_disabled

from jiafang.accounts.backends import DEMO_EMAIL_DOMAIN
from jiafang.accounts.models import Role, User
from jiafang.campaigns.defaults import campaign_defaults
from jiafang.campaigns.models import Campaign
from jiafang.campaigns.services import campaign_create, campaign_field_add
from jiafang.demo import names
from jiafang.demo.visits import demo_visits_build
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
from jiafang.taskmap.services import taskmap_draft

DEMO_PASSWORD = "demo-visit-2026"
# Every demo user carries DEMO_EMAIL_DOMAIN (.invalid is reserved, RFC 2606): the marker that
# --reset and the login table go by, and that login refuses outside demo mode.
DEMO_SCHOOL_CODE_PREFIX = "DEMO-"
DEMO_USERNAME_PREFIX = "demo-"
CITY_CODE, CITY_NAME = names.BUREAU_CITY
DISTRICT_CODE, DISTRICT_NAME = names.BUREAU_DISTRICT

FIXED_PHONE_BASE = 19900000000
STAFF_PHONE_BASE = 19900100000
GUARDIAN_PHONE_BASE = 19910000000

BATCH_SIZE = 5000
CLASS_SIZE = 43
SIBLING_SHARE = 0.08  # students who have a brother or sister enrolled in the same school
TWIN_SHARE = 0.05  # of sibling pairs
HELD_BACK_SHARE = 0.03  # born a year earlier than the grade's cohort
COORDINATE_SHARE = 0.5
CLEARED_FLAG_SHARE = 0.01
FIXED_LOGIN_SCHOOLS = 3
MIN_STUDENTS_PER_SCHOOL = 20

# The memorable logins of schools 1-3, with the last digits of their phone numbers.
SCHOOL_LOGINS = [("principal", 1), ("coordinator", 2), ("head", 3), ("teacher", 4),
                 ("mental", 5), ("safety", 6)]
BUREAU_LOGINS = [("bureau", DISTRICT_CODE, 1), ("city", CITY_CODE, 2)]


def fixed_usernames() -> list[str]:
    """The demo logins in the order the login table lists them."""
    return [u for u, _, _ in BUREAU_LOGINS] + [
        f"{role}{i}" for i in range(1, FIXED_LOGIN_SCHOOLS + 1) for role, _ in SCHOOL_LOGINS
    ]


def demo_email(username: str) -> str:
    return f"{username}@{DEMO_EMAIL_DOMAIN}"


@dataclass(frozen=True)
class DemoSpec:
    seed: int = 2026
    schools: int = 3
    students: int = 1500
    visited_share: float = 0.4  # families with a recorded visit in the demo campaign

    def validate(self) -> None:
        if self.schools < 1:
            raise ValueError("schools must be at least 1")
        if self.students < MIN_STUDENTS_PER_SCHOOL * self.schools:
            raise ValueError(
                f"students must be at least {MIN_STUDENTS_PER_SCHOOL} per school "
                f"({MIN_STUDENTS_PER_SCHOOL * self.schools} for {self.schools} schools)"
            )


@dataclass
class DemoResult:
    counts: dict[str, int] = field(default_factory=dict)
    timings: list[tuple[str, float]] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(t for _, t in self.timings)


# --- small helpers --------------------------------------------------------------------------

class Weighted:
    """Weighted choice with precomputed cumulative weights (fast in a hot loop)."""

    def __init__(self, items: Iterable[tuple[object, float]]):
        pairs = list(items)
        self.values = [v for v, _ in pairs]
        self.cumulative = list(accumulate(w for _, w in pairs))
        self.total = self.cumulative[-1]

    def pick(self, rng: random.Random):
        return self.values[bisect_right(self.cumulative, rng.random() * self.total)]


def _unique_chars(chars: str) -> str:
    return "".join(dict.fromkeys(chars))  # ordered: no set(), whose order varies per process


class NameMaker:
    def __init__(self) -> None:
        self.surnames = Weighted(names.SURNAMES)
        self.boy = _unique_chars(names.BOY_CHARS)
        self.girl = _unique_chars(names.GIRL_CHARS)
        self.neutral = _unique_chars(names.NEUTRAL_CHARS)
        self.man = _unique_chars(names.MAN_CHARS)
        self.woman = _unique_chars(names.WOMAN_CHARS)
        self.old_man = _unique_chars(names.OLD_MAN_CHARS)
        self.old_woman = _unique_chars(names.OLD_WOMAN_CHARS)

    def surname(self, rng: random.Random, *, other_than: str = "") -> str:
        while True:
            name = self.surnames.pick(rng)
            if name != other_than:
                return name

    def child(self, rng: random.Random, surname: str, gender: str) -> str:
        chars = self.boy if gender == "M" else self.girl
        if rng.random() < 0.12:
            return surname + rng.choice(chars)
        first = rng.choice(self.neutral if rng.random() < 0.25 else chars)
        second = rng.choice(chars)
        while second == first:
            second = rng.choice(chars)
        return surname + first + second

    def adult(self, rng: random.Random, surname: str, *, male: bool, old: bool = False) -> str:
        if old:
            chars = self.old_man if male else self.old_woman
        else:
            chars = self.man if male else self.woman
        if rng.random() < 0.3:
            return surname + rng.choice(chars)
        return surname + rng.choice(chars) + rng.choice(chars)


def school_year_start(today: dt.date | None = None) -> int:
    """The calendar year the current school year began in (it starts on 1 September)."""
    today = today or timezone.localdate()
    return today.year if today.month >= 9 else today.year - 1


def birth_range(grade: int, year: int) -> tuple[dt.date, int]:
    """Children of grade g were born 1 Sep (Y-6-g) .. 31 Aug (Y-5-g): first day and span."""
    start = dt.date(year - 6 - grade, 9, 1)
    end = dt.date(year - 5 - grade, 8, 31)
    return start, (end - start).days


def _split_evenly(total: int, weights: list[float]) -> list[int]:
    """Integers proportional to weights summing exactly to total (largest remainder)."""
    raw = [total * w / sum(weights) for w in weights]
    result = [int(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - result[i], reverse=True)
    for i in order[: total - sum(result)]:
        result[i] += 1
    return result


def _class_count(students: int) -> int:
    """Classes of about CLASS_SIZE students (40-45)."""
    low = max(1, students // CLASS_SIZE)
    high = low + 1
    return min((low, high), key=lambda c: abs(students / c - CLASS_SIZE))


def _chunks(items: list, rng: random.Random, low: int = 2, high: int = 4) -> list[list]:
    """Split items into consecutive chunks of low..high (never a single one left over)."""
    out, i = [], 0
    while i < len(items):
        left = len(items) - i
        if left <= high:
            size = left
        else:
            size = rng.randint(low, high)
            if left - size < low:
                size = left - low
        out.append(items[i:i + size])
        i += size
    return out


def _teaches(subject: str, grade: int) -> bool:
    """Whether a class of this grade has a subject teacher for the subject."""
    if subject == "英语" and grade < 3:
        return False
    if subject == "物理" and grade < 8:
        return False
    return subject in (names.PRIMARY_SUBJECTS if grade <= 6 else names.JUNIOR_SUBJECTS)


# --- the plan of a school (pure Python) -------------------------------------------------------

STAGE_GRADES = {"primary": range(1, 7), "junior": range(7, 10), "nine_year": range(1, 10)}
STAGES_CYCLE = ["primary", "junior", "nine_year"]


@dataclass
class SchoolPlan:
    index: int
    code: str
    name: str
    stage: str
    students: int = 0


def school_plans(spec: DemoSpec) -> list[SchoolPlan]:
    rng = random.Random(f"jiafang-demo:{spec.seed}:schools")
    plans = []
    for index in range(1, spec.schools + 1):
        if index <= len(names.SCHOOLS_FIXED):
            name, stage = names.SCHOOLS_FIXED[index - 1]
        else:
            stage = STAGES_CYCLE[(index - 1) % 3]
            name = (f"常州经开区第{names.chinese_number(index)}"
                    f"{names.GENERATED_SCHOOL_SUFFIX[stage]}")
        plans.append(SchoolPlan(index, f"{DEMO_SCHOOL_CODE_PREFIX}{index:04d}", name, stage))
    # Students in proportion to the number of grades, so grades are of a similar size.
    weights = [len(STAGE_GRADES[p.stage]) * rng.uniform(0.85, 1.15) for p in plans]
    for plan, count in zip(plans, _split_evenly(spec.students, weights), strict=True):
        plan.students = count
    return plans


# --- the writer --------------------------------------------------------------------------------

WRITE_ORDER: list[type[models.Model]] = [
    User, School, SchoolClass, Family, Guardian, Student, FocusFlag, Role,
]


class BulkWriter:
    """Collects unsaved rows with precomputed ids; writes them in dependency order."""

    def __init__(self, batch_size: int = BATCH_SIZE, flush_every: int = 50_000):
        self.batch_size = batch_size
        self.flush_every = flush_every
        self.pending: dict[type[models.Model], list[models.Model]] = {m: [] for m in WRITE_ORDER}
        self.pending_count = 0
        self.counts: dict[str, int] = {m._meta.model_name: 0 for m in WRITE_ORDER}
        self.next_ids: dict[type[models.Model], int] = {}
        self.write_seconds = 0.0

    def reserve_ids(self) -> None:
        """Ids continue after the highest existing one. Rows whose id nobody refers to
        (guardians, flags, roles) get theirs from the database instead."""
        for model in WRITE_ORDER:
            self.next_ids[model] = (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1

    def new_id(self, model: type[models.Model]) -> int:
        pk = self.next_ids[model]
        self.next_ids[model] = pk + 1
        return pk

    def add(self, obj: models.Model) -> None:
        self.pending[type(obj)].append(obj)
        self.pending_count += 1
        if self.pending_count >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        started = time.perf_counter()
        for model in WRITE_ORDER:
            rows = self.pending[model]
            if rows:
                model.objects.bulk_create(rows, batch_size=self.batch_size)
                self.counts[model._meta.model_name] += len(rows)
                self.pending[model] = []
        self.pending_count = 0
        self.write_seconds += time.perf_counter() - started

    def reset_sequences(self) -> None:
        statements = connection.ops.sequence_reset_sql(no_style(), WRITE_ORDER)
        if statements:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)


# --- the builder -------------------------------------------------------------------------------

@dataclass
class _Child:
    family: int  # index into the school's families
    grade: int
    birth_date: dt.date | None = None
    gender: str = ""
    name: str = ""
    student_id: int = 0
    class_id: int = 0


class _Builder:
    def __init__(self, spec: DemoSpec, writer: BulkWriter, log: Callable[[str], None]):
        self.spec = spec
        self.writer = writer
        self.log = log
        self.names = NameMaker()
        self.now = timezone.now()
        self.year = school_year_start(timezone.localdate())
        self.password = make_password(DEMO_PASSWORD)  # hashed once, shared by every demo user
        self.staff_phone = STAFF_PHONE_BASE
        self.guardian_phone = GUARDIAN_PHONE_BASE
        self.categories = self.focus_categories()
        self.guardians_usual = Weighted(names.GUARDIANS_USUAL)
        self.guardians_left = Weighted(names.GUARDIANS_LEFT_BEHIND)

    @staticmethod
    def focus_categories() -> dict[str, int]:
        """The seeded categories' ids by code (seeded again if a flush removed them)."""
        categories = dict(FocusCategory.objects.values_list("code", "pk"))
        if any(code not in categories for code, *_ in names.FOCUS_PLAN):
            from jiafang.schools.defaults import seed_focus_categories

            seed_focus_categories(FocusCategory)
            categories = dict(FocusCategory.objects.values_list("code", "pk"))
        missing = [code for code, *_ in names.FOCUS_PLAN if code not in categories]
        if missing:
            raise RuntimeError(f"focus categories missing: {', '.join(missing)}")
        return categories

    # users and roles

    def user(self, username: str, full_name: str, phone: int) -> int:
        pk = self.writer.new_id(User)
        self.writer.add(User(
            pk=pk, username=username, full_name=full_name, phone=str(phone),
            email=demo_email(username), password=self.password, is_active=True,
            date_joined=self.now, password_changed_at=self.now,
        ))
        return pk

    def staff_name(self, rng: random.Random) -> str:
        return self.names.adult(rng, self.names.surname(rng), male=rng.random() < 0.3)

    def next_staff_phone(self) -> int:
        self.staff_phone += 1
        return self.staff_phone

    def role(self, user_id: int, kind: str, *, bureau_id=None, school_id=None, class_id=None,
             subject: str = "") -> None:
        self.writer.add(Role(user_id=user_id, kind=kind, bureau_id=bureau_id, school_id=school_id,
                             school_class_id=class_id, subject=subject, created_at=self.now))

    # the district

    def build(self) -> None:
        rng = random.Random(f"jiafang-demo:{self.spec.seed}:bureau")
        city = Bureau.objects.create(code=CITY_CODE, name=CITY_NAME)
        district = Bureau.objects.create(code=DISTRICT_CODE, name=DISTRICT_NAME, parent=city)
        bureau_ids = {CITY_CODE: city.pk, DISTRICT_CODE: district.pk}
        for username, code, digit in BUREAU_LOGINS:
            uid = self.user(username, self.staff_name(rng), FIXED_PHONE_BASE + digit)
            self.role(uid, Role.Kind.BUREAU_OFFICER, bureau_id=bureau_ids[code])
        plans = school_plans(self.spec)
        started = time.perf_counter()
        for plan in plans:
            self.school(plan, district.pk)
            if plan.index % 20 == 0 or plan.index == len(plans):
                self.log(f"  {plan.index}/{len(plans)} schools generated "
                         f"({time.perf_counter() - started:.1f} s)")
        self.writer.flush()
        self.writer.reset_sequences()

    def school(self, plan: SchoolPlan, bureau_id: int) -> None:
        rng = random.Random(f"jiafang-demo:{self.spec.seed}:school:{plan.index}")
        w = self.writer
        school_id = w.new_id(School)
        w.add(School(pk=school_id, bureau_id=bureau_id, code=plan.code, name=plan.name,
                     stage=plan.stage))
        grades = list(STAGE_GRADES[plan.stage])
        first_grade = grades[0]
        per_grade = _split_evenly(plan.students, [rng.uniform(0.92, 1.08) for _ in grades])
        grade_counts = dict(zip(grades, per_grade, strict=True))

        # Classes and their head teachers.
        classes: dict[int, list[tuple[int, int, int]]] = {}  # grade -> [(class_id, number, size)]
        class_list: list[tuple[int, int, int]] = []  # (class_id, grade, number)
        for grade in grades:
            count = _class_count(grade_counts[grade])
            sizes = _split_evenly(grade_counts[grade], [1.0] * count)
            entry_year = self.year - (grade - first_grade)
            classes[grade] = []
            for number, size in enumerate(sizes, start=1):
                class_id = w.new_id(SchoolClass)
                w.add(SchoolClass(pk=class_id, school_id=school_id, grade=grade, number=number,
                                  entry_year=entry_year))
                classes[grade].append((class_id, number, size))
                class_list.append((class_id, grade, number))

        fixed = plan.index <= FIXED_LOGIN_SCHOOLS
        demo_grade = 3 if 3 in grades else first_grade
        demo_class_id = classes[demo_grade][0][0]

        def login(role: str, generated: str) -> tuple[str, int]:
            if fixed:
                digit = dict(SCHOOL_LOGINS)[role]
                return f"{role}{plan.index}", FIXED_PHONE_BASE + plan.index * 1000 + digit
            return f"{DEMO_USERNAME_PREFIX}{plan.index:04d}-{generated}", self.next_staff_phone()

        K = Role.Kind
        for role, kind in (("principal", K.PRINCIPAL), ("coordinator", K.COORDINATOR),
                           ("mental", K.MENTAL_HEALTH), ("safety", K.SAFETY_OFFICER)):
            username, phone = login(role, role)
            self.role(self.user(username, self.staff_name(rng), phone), kind, school_id=school_id)
        head_of: dict[int, int] = {}
        for class_id, grade, number in class_list:
            if fixed and class_id == demo_class_id:
                username, phone = login("head", "")
            else:
                username = f"{DEMO_USERNAME_PREFIX}{plan.index:04d}-head-{grade}-{number}"
                phone = self.next_staff_phone()
            head_of[class_id] = self.user(username, self.staff_name(rng), phone)
            self.role(head_of[class_id], K.HEAD_TEACHER, school_id=school_id, class_id=class_id)
        teacher_number = 0
        for subject in dict.fromkeys(names.PRIMARY_SUBJECTS + names.JUNIOR_SUBJECTS):
            taught = [c for c in class_list if _teaches(subject, c[1])]
            for chunk in _chunks(taught, rng):
                ids = [c[0] for c in chunk]
                if fixed and subject == "数学" and demo_class_id in ids:
                    username, phone = login("teacher", "")
                else:
                    teacher_number += 1
                    username = f"{DEMO_USERNAME_PREFIX}{plan.index:04d}-t{teacher_number:03d}"
                    phone = self.next_staff_phone()
                uid = self.user(username, self.staff_name(rng), phone)
                for class_id in ids:
                    self.role(uid, K.SUBJECT_TEACHER, school_id=school_id, class_id=class_id,
                              subject=subject)

        self.families_and_students(plan, rng, school_id, grades, grade_counts, classes, head_of)

    def families_and_students(self, plan, rng, school_id, grades, grade_counts, classes,
                              head_of) -> None:
        w = self.writer
        # Which grades each family's children are in: ~8% of students share a family.
        slots = dict(grade_counts)
        families: list[list[int]] = []
        for _ in range(round(plan.students * SIBLING_SHARE / 2)):
            open_grades = [g for g in grades if slots[g] > 0]
            if not open_grades:
                break
            g1 = Weighted((g, slots[g]) for g in open_grades).pick(rng)
            if slots[g1] >= 2 and rng.random() < TWIN_SHARE:
                g2 = g1
            else:
                near = [(g, 5 - abs(g - g1)) for g in open_grades if g != g1 and abs(g - g1) <= 4]
                if not near:
                    continue
                g2 = Weighted(near).pick(rng)
            slots[g1] -= 1
            slots[g2] -= 1
            families.append(sorted((g1, g2), reverse=True))  # the elder first
        for g in grades:
            families.extend([g] for _ in range(slots[g]))
        rng.shuffle(families)

        # Family-level focus categories (shared by siblings) are chosen per family.
        family_flags: dict[int, list[str]] = {}
        for code, share, per_family, _ in names.FOCUS_PLAN:
            if per_family:
                k = min(len(families), max(1, round(share * len(families))))
                for fi in rng.sample(range(len(families)), k):
                    family_flags.setdefault(fi, []).append(code)

        places = [names.PLACES[(plan.index - 1 + k) % len(names.PLACES)] for k in range(3)]
        place_pick = Weighted(zip(range(3), (6, 3, 1), strict=True))
        children: list[_Child] = []
        family_ids: list[int] = []
        for fi, child_grades in enumerate(families):
            family_id = w.new_id(Family)
            family_ids.append(family_id)
            street, communities, roads, estates, (lat, lon) = places[place_pick.pick(rng)]
            floor, room = rng.randint(1, 6), rng.randint(1, 4)
            if rng.random() < 0.5:
                address = (f"{names.ADDRESS_PREFIX}{street}{rng.choice(roads)}"
                           f"{rng.randint(1, 399)}号{rng.randint(1, 12)}幢{floor}{room:02d}室")
            else:
                address = (f"{names.ADDRESS_PREFIX}{street}{rng.choice(estates)}"
                           f"{rng.randint(1, 30)}幢{rng.randint(1, 3)}单元{floor}{room:02d}室")
            latitude = longitude = None
            if rng.random() < COORDINATE_SHARE:
                latitude = Decimal(f"{min(31.8, max(31.75, lat + rng.uniform(-0.012, 0.012))):.3f}")
                longitude = Decimal(
                    f"{min(120.12, max(120.05, lon + rng.uniform(-0.015, 0.015))):.3f}")
            w.add(Family(pk=family_id, school_id=school_id, code=f"JT{fi + 1:05d}",
                         address=address, community=rng.choice(communities), street=street,
                         latitude=latitude, longitude=longitude, created_at=self.now))

            surname = self.names.surname(rng)
            mother_surname = self.names.surname(rng, other_than=surname)
            left_behind = "left_behind_single_parent" in family_flags.get(fi, ())
            relations = (self.guardians_left if left_behind else self.guardians_usual).pick(rng)
            for position, relation in enumerate(relations):
                self.guardian_phone += 1
                w.add(Guardian(
                    school_id=school_id, family_id=family_id, position=position,
                    name=self.guardian_name(rng, relation, surname, mother_surname),
                    relation=relation, phone=str(self.guardian_phone),
                ))
            previous: _Child | None = None
            for grade in child_grades:
                child = _Child(family=fi, grade=grade)
                child.gender = "M" if rng.random() < 0.52 else "F"
                child_surname = surname if rng.random() < 0.93 else mother_surname
                if previous is not None and previous.grade == grade:  # twins
                    child.birth_date = previous.birth_date
                    child_surname = previous.name[0]
                else:
                    start, span = birth_range(grade, self.year)
                    if rng.random() < HELD_BACK_SHARE:
                        start -= dt.timedelta(days=365)
                    child.birth_date = start + dt.timedelta(days=rng.randint(0, span))
                child.name = self.names.child(rng, child_surname, child.gender)
                if previous is not None and child.name == previous.name:
                    child.name = self.names.child(rng, child_surname, child.gender)
                children.append(child)
                previous = child

        # Classes: each grade's children shuffled and dealt out; numbers follow the roster.
        by_grade: dict[int, list[_Child]] = {g: [] for g in grades}
        for child in children:
            by_grade[child.grade].append(child)
        first_grade = grades[0]
        for grade in grades:
            pupils = by_grade[grade]
            rng.shuffle(pupils)
            entry_year = self.year - (grade - first_grade)
            start = 0
            for class_id, number, size in classes[grade]:
                for seq, child in enumerate(pupils[start:start + size], start=1):
                    child.student_id = w.new_id(Student)
                    child.class_id = class_id
                    w.add(Student(
                        pk=child.student_id, school_id=school_id, school_class_id=class_id,
                        family_id=family_ids[child.family], name=child.name,
                        student_number=f"{entry_year}{number:02d}{seq:02d}",
                        gender=child.gender, birth_date=child.birth_date,
                        status=Student.Status.ENROLLED, created_at=self.now, updated_at=self.now,
                    ))
                start += size

        # Focus flags, set by the child's head teacher some time in the past year.
        by_family: dict[int, list[_Child]] = {}
        for child in children:
            by_family.setdefault(child.family, []).append(child)
        for code, share, per_family, reasons in names.FOCUS_PLAN:
            if per_family:
                flagged = [c for fi, codes in family_flags.items() if code in codes
                           for c in by_family[fi]]
                reason_of = {fi: rng.choice(reasons) for fi in sorted(family_flags)}
                for child in sorted(flagged, key=lambda c: c.student_id):
                    self.flag(rng, school_id, child, code, reason_of[child.family], head_of)
            else:
                k = min(len(children), max(1, round(share * len(children))))
                for child in sorted(rng.sample(children, k), key=lambda c: c.student_id):
                    self.flag(rng, school_id, child, code, rng.choice(reasons), head_of)
        # A little history: academic flags that were cleared after tutoring.
        for child in rng.sample(children, round(CLEARED_FLAG_SHARE * len(children))):
            set_at = self.now - dt.timedelta(days=rng.randint(200, 700))
            head = head_of[child.class_id]
            w.add(FocusFlag(
                school_id=school_id, student_id=child.student_id,
                category_id=self.categories["academic"], reason="学习习惯有待养成",
                set_by_id=head, set_at=set_at, cleared_by_id=head,
                cleared_at=set_at + dt.timedelta(days=rng.randint(60, 180)),
                clear_reason=names.CLEARED_ACADEMIC_REASON,
            ))

    def flag(self, rng, school_id, child: _Child, code: str, reason: str, head_of) -> None:
        self.writer.add(FocusFlag(
            school_id=school_id, student_id=child.student_id, category_id=self.categories[code],
            reason=reason, set_by_id=head_of[child.class_id],
            set_at=self.now - dt.timedelta(seconds=rng.randint(3600, 365 * 86400)),
        ))

    def guardian_name(self, rng, relation: str, surname: str, mother_surname: str) -> str:
        n = self.names
        return {
            "父亲": lambda: n.adult(rng, surname, male=True),
            "母亲": lambda: n.adult(rng, mother_surname, male=False),
            "爷爷": lambda: n.adult(rng, surname, male=True, old=True),
            "奶奶": lambda: n.adult(rng, n.surname(rng), male=False, old=True),
            "外公": lambda: n.adult(rng, mother_surname, male=True, old=True),
            "外婆": lambda: n.adult(rng, n.surname(rng), male=False, old=True),
        }[relation]()


DEMO_CAMPAIGN_FIELDS = [("家访反思", "text"), ("跟进措施", "text"), ("家长签名确认", "yes_no")]


def demo_campaign_values(today: dt.date) -> dict:
    """The demo campaign's settings: the notice's defaults for the year of `today` (1 March –
    30 June) when that period contains today; otherwise — the notice's period is over or not
    begun, and a demo "under way" needs visits done before today and visits booked after it —
    the school year that contains today: 1 September – 30 June (to 31 August in July and
    August), plan due after a month, summary due on 10 May as in the notice (or with the end).
    Decision recorded for issue 3 point 9 (e.g. on 2026-11-29: 2026-09-01 .. 2027-06-30)."""
    values = campaign_defaults(today)
    if values["starts_on"] <= today <= values["ends_on"]:
        return values
    year = school_year_start(today)
    starts_on = dt.date(year, 9, 1)
    ends_on = dt.date(year + 1, 6, 30)
    if today > ends_on:
        ends_on = dt.date(year + 1, 8, 31)
    summary_due_on = min(dt.date(year + 1, 5, 10), ends_on)
    return {**values, "name": f"{year}—{year + 1}学年教师“大家访”活动", "starts_on": starts_on,
            "ends_on": ends_on, "plan_due_on": starts_on + dt.timedelta(days=29),
            "summary_due_on": summary_due_on}


def demo_campaign(today: dt.date | None = None) -> Campaign:
    """The district's current campaign (`demo_campaign_values`) plus three extra record
    fields."""
    district = Bureau.objects.get(code=DISTRICT_CODE)
    officer = User.objects.filter(roles__kind=Role.Kind.BUREAU_OFFICER,
                                  roles__bureau=district).order_by("pk").first()
    campaign = campaign_create(bureau=district, by=officer,
                               **demo_campaign_values(today or timezone.localdate()))
    for label, kind in DEMO_CAMPAIGN_FIELDS:
        campaign_field_add(campaign=campaign, by=officer, label=label, kind=kind)
    return campaign


def demo_build(spec: DemoSpec, *, log: Callable[[str], None] = lambda _: None) -> DemoResult:
    """Build the demo district in one transaction. The caller checks it does not exist yet."""
    spec.validate()
    result = DemoResult()
    writer = BulkWriter()
    started = time.perf_counter()
    with scopes_disabled(), transaction.atomic():
        writer.reserve_ids()
        builder = _Builder(spec, writer, log)
        builder.build()
        school_figures_refresh(school_ids=School.objects.values_list("pk", flat=True))
        campaign = demo_campaign()
        visits_started = time.perf_counter()
        visit_counts = demo_visits_build(campaign, seed=spec.seed,
                                         visited_share=spec.visited_share, log=log)
        for school in School.objects.filter(code__startswith=DEMO_SCHOOL_CODE_PREFIX):
            taskmap_draft(campaign=campaign, school=school, by=None)  # the task map (R8)
        built = time.perf_counter()
    committed = time.perf_counter()
    visit_seconds = built - visits_started
    result.timings = [("generate rows (Python)",
                       built - started - writer.write_seconds - visit_seconds),
                      ("write rows (bulk_create)", writer.write_seconds),
                      ("visits (bulk, statuses, figures)", visit_seconds),
                      ("commit (deferred FK checks)", committed - built)]
    result.counts = dict(writer.counts)
    result.counts.update(visit_counts)
    result.counts["bureau"] = 2
    return result
