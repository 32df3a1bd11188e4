"""Hot pages run a constant number of queries (principle 6; issue point 8).

Each page is measured, then the data grows tenfold, then measured again: the count must be
the same, and the class roster page and student list API stay within 10 queries.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_scopes import scopes_disabled

from jiafang.conftest import make_family, make_student
from jiafang.schools.models import FocusCategory, FocusFlag, Guardian
from jiafang.schools.services import school_figures_refresh

BUDGET = 10


def grow(district, n: int, start: int) -> None:
    """Add n students to class A1 and n to class B1, siblings, guardians and flags included."""
    with scopes_disabled():
        categories = list(FocusCategory.objects.all())
        for i in range(start, start + n):
            for school_class, prefix in ((district.class_a1, "GA"), (district.class_b1, "GB")):
                family = make_family(school_class.school, f"{prefix}F{i}", guardian=f"家长{i}",
                                     phone=f"1391{i:07d}")
                Guardian.objects.create(school=school_class.school, family=family,
                                        name=f"母亲{i}", relation="母亲", phone=f"1381{i:07d}",
                                        position=1)
                student = make_student(school_class, family, f"{prefix}{i:05d}", f"学生{i}")
                if i % 3 == 0:
                    make_student(school_class, family, f"{prefix}S{i:05d}", f"弟弟{i}")
                if i % 2 == 0:
                    FocusFlag.objects.create(school=school_class.school, student=student,
                                             category=categories[i % len(categories)],
                                             set_at=timezone.now(), reason="测试")
        school_figures_refresh(school_ids=[district.school_a.pk, district.school_b.pk])


# (persona, url, grows): "grows" says whether the added rows appear on the page.
PAGES = [
    ("head_a1", lambda d: f"/classes/{d.class_a1.pk}/", True),
    ("bureau_officer", lambda d: f"/classes/{d.class_b1.pk}/", True),
    ("coordinator_a", lambda d: f"/schools/{d.school_a.pk}/", True),
    ("bureau_officer", lambda d: "/schools/", True),
    ("mental_a", lambda d: f"/schools/{d.school_a.pk}/focus/", True),
    ("head_a1", lambda d: f"/students/{d.students['a1_sibling'].pk}/", False),
    ("head_a1", lambda d: f"/api/v1/students?class={d.class_a1.pk}&limit=500", True),
    ("coordinator_a", lambda d: f"/api/v1/students?school={d.school_a.pk}", True),
    ("bureau_officer", lambda d: "/api/v1/students?category=mental_health", True),
    ("head_a1", lambda d: f"/api/v1/families?class={d.class_a1.pk}&limit=500", True),
    ("bureau_officer", lambda d: "/api/v1/schools", True),
    ("bureau_officer", lambda d: "/api/v1/classes", True),
]


def _count(client, url) -> tuple[int, int]:
    """Queries of a page in a session's steady state (the first request stamps the session)."""
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(ctx.captured_queries), len(response.content)


@pytest.mark.parametrize(("persona", "url", "grows"), PAGES,
                         ids=[f"{p[0]}-{i}" for i, p in enumerate(PAGES)])
def test_query_count_does_not_grow_with_data(persona, url, grows, district, client):
    client.force_login(district.users[persona])
    grow(district, 4, 0)
    small_queries, small_size = _count(client, url(district))
    grow(district, 40, 100)
    large_queries, large_size = _count(client, url(district))
    if grows:
        assert large_size > small_size, "the page should show the added rows"
    assert large_queries == small_queries, f"{url}: {small_queries} -> {large_queries} queries"


@pytest.mark.parametrize("url", ["/classes/{c}/", "/api/v1/students?class={c}"])
def test_hot_pages_stay_within_budget(url, district, client):
    """Class roster page and student list API: ≤ 10 queries (the benchmark goal's count)."""
    grow(district, 10, 0)
    client.force_login(district.users["head_a1"])
    queries, _ = _count(client, url.format(c=district.class_a1.pk))
    assert queries <= BUDGET
