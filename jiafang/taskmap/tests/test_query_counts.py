"""Task map pages and API run a constant number of queries when the families grow tenfold
(principle 6): more families, siblings, focus flags, visits done and booked, all drafted."""

import pytest
from django.utils import timezone

from jiafang.conftest import make_student, page_queries
from jiafang.schools.models import FocusCategory, FocusFlag
from jiafang.taskmap.services import taskmap_draft
from jiafang.taskmap.tests.conftest import add_family, add_teacher
from jiafang.visits.services import visit_schedule
from jiafang.visits.tests.conftest import at, schedule_and_record

pytestmark = pytest.mark.usefixtures("scoped")

PAGES = [
    ("coordinator_a", lambda d, c: f"/schools/{d.school_a.pk}/taskmap/?campaign={c.pk}"),
    ("bureau_officer", lambda d, c: f"/schools/{d.school_a.pk}/taskmap/?campaign={c.pk}"),
    ("head_a1", lambda d, c: "/taskmap/mine/"),
    ("subject_a1", lambda d, c: f"/taskmap/mine/?campaign={c.pk}"),
    ("coordinator_a", lambda d, c: f"/api/v1/assignments?campaign={c.pk}"),
    ("head_a1", lambda d, c: f"/api/v1/assignments?school={d.school_a.pk}"),
]
STREETS = ["遥观镇", "横林镇", "潞城街道"]
COMMUNITIES = ["塘桥社区", "剑湖社区", "丁堰社区", "东方社区"]


def grow(district, campaign, n: int, start: int) -> None:
    """n families in 3(1) (every third with a sibling in 3(2)), places varied, some with
    coordinates; every fourth child flagged; every fifth visited, every seventh booked."""
    d = district
    categories = list(FocusCategory.objects.all())
    for i in range(start, start + n):
        family = add_family(
            d.class_a1, f"G{i}", street=STREETS[i % 3] if i % 6 else "",
            community=COMMUNITIES[i % 4] if i % 6 else "",
            latitude=f"31.{7000 + i}" if i % 2 else None,
            longitude=f"119.{9000 + i}" if i % 2 else None)
        if i % 3 == 0:
            make_student(d.class_a2, family, f"GS{i:05d}", f"弟弟{i}")
        if i % 4 == 0:
            student = family.students.first()
            FocusFlag.objects.create(school=d.school_a, student=student,
                                     category=categories[i % len(categories)],
                                     set_at=timezone.now(), reason="测试")
        if i % 5 == 0:
            schedule_and_record(d, campaign, family, when=at(4, 1 + i % 28, 18),
                                visited_at=at(4, 1 + i % 28, 18))
        elif i % 7 == 0:
            visit_schedule(campaign=campaign, family=family, lead=d.users["head_a1"],
                           scheduled_at=at(5, 1 + i % 28, 18), by=d.users["head_a1"])
    taskmap_draft(campaign=campaign, school=d.school_a, by=d.users["coordinator_a"])


@pytest.mark.parametrize(("persona", "url"), PAGES,
                         ids=[f"{p[0]}-{i}" for i, p in enumerate(PAGES)])
def test_taskmap_queries_do_not_grow_with_families(persona, url, district, campaign, client):
    add_teacher("chinese_a1", district.class_a1)
    client.force_login(district.users[persona])
    grow(district, campaign, 4, 0)
    small = page_queries(client, url(district, campaign))
    grow(district, campaign, 40, 100)
    large = page_queries(client, url(district, campaign))
    assert large == small, f"{small} -> {large} queries"
