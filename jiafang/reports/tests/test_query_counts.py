"""The coverage pages and API run a constant number of queries when the visits grow tenfold."""

import pytest

from jiafang.conftest import page_queries
from jiafang.visits.tests.test_query_counts import grow

pytestmark = pytest.mark.usefixtures("scoped")

PAGES = [
    ("bureau_officer", lambda d, c: f"/campaigns/{c.pk}/coverage/"),
    ("principal_a", lambda d, c: f"/schools/{d.school_a.pk}/coverage/?campaign={c.pk}"),
    ("bureau_officer", lambda d, c: f"/schools/{d.school_b.pk}/coverage/?campaign={c.pk}"),
    ("head_a1", lambda d, c: f"/classes/{d.class_a1.pk}/todo/?campaign={c.pk}"),
    ("bureau_officer", lambda d, c: f"/api/v1/coverage/bureau?campaign={c.pk}"),
    ("coordinator_a", lambda d, c: f"/api/v1/coverage/schools/{d.school_a.pk}?campaign={c.pk}"),
    ("head_a1", lambda d, c: f"/api/v1/coverage/classes/{d.class_a1.pk}/todo?campaign={c.pk}"),
    ("bureau_officer", lambda d, c: f"/api/v1/coverage?campaign={c.pk}"),
    ("principal_a", lambda d, c: f"/api/v1/coverage?campaign={c.pk}&school={d.school_a.pk}"),
    ("head_a1", lambda d, c: f"/api/v1/coverage?campaign={c.pk}"),
]


@pytest.mark.parametrize(("persona", "url"), PAGES, ids=[f"{p[0]}-{i}" for i, p in enumerate(PAGES)])
def test_coverage_queries_do_not_grow_with_visits(persona, url, district, campaign, client):
    client.force_login(district.users[persona])
    grow(district, campaign, 4, 0)
    small = page_queries(client, url(district, campaign))
    grow(district, campaign, 40, 100)
    large = page_queries(client, url(district, campaign))
    assert large == small, f"{small} -> {large} queries"
