"""Coverage reads run a constant number of queries (principle 6; issue 3 point 11): measured,
then the visits grow tenfold, then measured again."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jiafang.conftest import make_family, make_student
from jiafang.schools.models import FocusCategory, FocusFlag
from jiafang.schools.services import school_figures_refresh
from jiafang.visits.selectors import (
    coverage_for_bureau,
    coverage_for_school,
    families_to_visit,
    progress_by_week,
)
from jiafang.visits.tests.conftest import at, schedule_and_record

pytestmark = pytest.mark.usefixtures("scoped")


def grow(district, campaign, n: int, start: int) -> None:
    """n new families with a child (every third with a sibling) in 3(1) and in 7(1); every
    other family visited and recorded, every fourth child flagged."""
    categories = list(FocusCategory.objects.all())
    for i in range(start, start + n):
        for school_class, prefix, lead in ((district.class_a1, "GA", "head_a1"),
                                           (district.class_b1, "GB", "head_b1")):
            family = make_family(school_class.school, f"{prefix}F{i}", guardian=f"家长{i}",
                                 phone=f"1391{i:07d}")
            student = make_student(school_class, family, f"{prefix}{i:05d}", f"学生{i}")
            if i % 3 == 0:
                make_student(school_class, family, f"{prefix}S{i:05d}", f"弟弟{i}")
            if i % 4 == 0:
                FocusFlag.objects.create(school=school_class.school, student=student,
                                         category=categories[i % len(categories)],
                                         set_at=timezone.now(), reason="测试")
            if i % 2 == 0:
                schedule_and_record(district, campaign, family, lead=district.users[lead],
                                    when=at(4, 1 + i % 28, 18), visited_at=at(4, 1 + i % 28, 18))
    school_figures_refresh(school_ids=[district.school_a.pk, district.school_b.pk])


READS = [
    ("principal_a", lambda d, c: coverage_for_school(d.users["principal_a"], d.school_a, c)),
    ("head_a1", lambda d, c: coverage_for_school(d.users["head_a1"], d.school_a, c)),
    ("bureau_officer", lambda d, c: coverage_for_bureau(d.users["bureau_officer"], c)),
    ("head_a1", lambda d, c: families_to_visit(d.users["head_a1"], d.class_a1, c)),
    ("principal_a", lambda d, c: progress_by_week(d.users["principal_a"], d.school_a, c)),
]


def _count(read, district, campaign) -> int:
    read(district, campaign)  # the user's access is computed once per request
    with CaptureQueriesContext(connection) as ctx:
        read(district, campaign)
    return len(ctx.captured_queries)


@pytest.mark.parametrize("index", range(len(READS)), ids=[r[0] for r in READS])
def test_coverage_queries_do_not_grow_with_visits(index, district, campaign):
    _persona, read = READS[index]
    grow(district, campaign, 4, 0)
    small = _count(read, district, campaign)
    grow(district, campaign, 40, 100)
    large = _count(read, district, campaign)
    assert large == small, f"{small} -> {large} queries"
    assert large <= 8


def test_bureau_coverage_reads_only_figures(district, campaign):
    grow(district, campaign, 4, 0)
    officer = district.users["bureau_officer"]
    coverage_for_bureau(officer, campaign)
    with CaptureQueriesContext(connection) as ctx:
        coverage = coverage_for_bureau(officer, campaign)
    sql = " ".join(q["sql"] for q in ctx.captured_queries)
    assert "schools_student" not in sql and "visits_visit" not in sql
    assert coverage.totals.families_visited == 4  # two per school
