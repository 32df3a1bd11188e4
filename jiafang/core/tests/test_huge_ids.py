"""An id beyond the database's 64-bit range in a URL or query string is 404, like a missing
row — never a 500 (SQLite raises OverflowError, PostgreSQL an out-of-range error)."""

import pytest

HUGE = 10**20


@pytest.mark.parametrize("url", [
    f"/schools/{HUGE}/", f"/classes/{HUGE}/", f"/students/{HUGE}/", f"/visits/{HUGE}/",
    f"/campaigns/{HUGE}/", f"/campaigns/{HUGE}/coverage/", f"/api/v1/visits/{HUGE}",
    f"/api/v1/coverage?campaign={HUGE}", "/api/v1/coverage?campaign={campaign}&school=" + str(HUGE),
    "/schools/{school}/taskmap/?campaign=" + str(HUGE), f"/calendar/?teacher={HUGE}",
])
def test_a_huge_id_is_404(url, matrix_district, client):
    d = matrix_district
    client.force_login(d.users["coordinator_a"])
    response = client.get(url.format(campaign=d.campaign.pk, school=d.school_a.pk))
    assert response.status_code == 404, url
