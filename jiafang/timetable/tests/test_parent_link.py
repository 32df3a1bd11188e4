"""Parent links (issue 3 point 4; R8, R23.2; SECURITY.md B12): a parent without an account
confirms the appointment or asks for another time; the link is unguessable, hashed, bound to one
visit, expiring, stripped from the URL after use and rate-limited."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone
from django_scopes import scopes_disabled

from jiafang.timetable import public, services
from jiafang.timetable.models import ParentLink
from jiafang.timetable.tests.conftest import ahead, schedule
from jiafang.visits.models import Visit, VisitEvent
from jiafang.visits.services import visit_cancel, visit_reschedule

NEUTRAL = "链接已失效，请联系老师"


def create_link(client, district, visit, persona="head_a1") -> str:
    """The teacher creates a link on the page; returns the raw token shown once."""
    client.force_login(district.users[persona])
    response = client.post(f"/visits/{visit.pk}/parent-link/")
    assert response.status_code == 302
    page = client.get(f"/visits/{visit.pk}/parent-link/").content.decode()
    match = re.search(r"https?://[^/\s<]+/p/([A-Za-z0-9_-]+)/", page)
    assert match, "the new link is shown once"
    return match.group(1)


def new_token(district, visit, persona="head_a1") -> str:
    with scopes_disabled():
        return services.parent_link_create(visit=visit, by=district.users[persona])[1]


def parent_open(token: str) -> Client:
    parent = Client()
    response = parent.get(f"/p/{token}/")
    assert response.status_code == 302 and response["Location"] == "/p/"
    return parent


def neutral_body(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())


def test_token_is_hashed_shown_once_and_never_stored(district, campaign, client):
    """B12: 256-bit token from `secrets`; the database holds only its SHA-256; the teacher sees
    the URL once (a refresh no longer shows it)."""
    visit = schedule(district, campaign)
    token = create_link(client, district, visit)
    assert len(token) >= 43
    with scopes_disabled():
        link = ParentLink.objects.get(visit=visit)
        stored = [str(v) for v in ParentLink.objects.filter(pk=link.pk).values_list()[0]]
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert not any(token in value for value in stored)
    again = client.get(f"/visits/{visit.pk}/parent-link/").content.decode()
    assert token not in again and "尚未打开" in again


def test_exchange_strips_the_token_and_shows_only_date_time_and_teachers(
        district, campaign):
    """R23.2, B12: the token is exchanged for a short session and the parent is redirected to
    /p/; the page shows the school, date, time, duration and the teachers' names, and no child
    name, address, phone or family code; the token URL sends no Referer (no-referrer)."""
    visit = schedule(district, campaign, companions=["subject_a1"], minutes=45)
    parent = Client()
    token = new_token(district, visit)
    exchange = parent.get(f"/p/{token}/")
    assert exchange.status_code == 302 and exchange["Location"] == "/p/"
    assert exchange["Referrer-Policy"] == "no-referrer"
    page = parent.get("/p/")
    # the token-free page keeps same-origin: a no-referrer page's form POST carries
    # `Origin: null`, which CSRF refuses (seen in Chromium)
    assert page.status_code == 200 and page["Referrer-Policy"] == "same-origin"
    body = page.content.decode()
    local = timezone.localtime(visit.scheduled_at)
    for shown in ("测试实验小学", local.strftime("%Y-%m-%d"), "18:00–18:45", "45",
                  "head_a1", "subject_a1", "确认", "希望换个时间"):
        assert shown in body, shown
    for hidden in ("李思", "李小", "塘桥路", "塘桥社区", "13900001111", "李红", "F-A-2", token):
        assert hidden not in body, hidden
    with scopes_disabled():
        link = ParentLink.objects.get(visit=visit)
    assert link.use_count == 1 and link.first_used_at is not None


def test_parent_confirms_the_visit(district, campaign):
    """R8: "确认" confirms the visit; the history says the parent did it through the link."""
    visit = schedule(district, campaign)
    parent = parent_open(new_token(district, visit))
    response = parent.post("/p/confirm/", {"version": visit.version})
    assert response.status_code == 302 and response["Location"] == "/p/"
    with scopes_disabled():
        visit.refresh_from_db()
        event = VisitEvent.objects.filter(visit=visit, kind="confirmed").get()
        link = ParentLink.objects.get(visit=visit)
    assert visit.status == Visit.Status.CONFIRMED
    assert event.by is None and event.data["via"] == "parent_link"
    assert event.data["link"] == link.pk
    page = parent.get("/p/").content.decode()
    assert "谢谢，已确认家访时间。" in page and "您已确认" in page


def test_confirming_a_time_changed_meanwhile_is_refused(district, campaign):
    """G1: the teacher moved the visit after the parent opened the page: their confirmation of
    the old time is not taken; they are shown the new time."""
    visit = schedule(district, campaign)
    parent = parent_open(new_token(district, visit))
    old_version = visit.version
    with scopes_disabled():
        visit_reschedule(visit=visit, scheduled_at=ahead(3, 19), by=district.users["head_a1"],
                         expected_version=old_version)
    response = parent.post("/p/confirm/", {"version": old_version})
    assert response.status_code == 409
    assert "老师刚刚修改了家访时间" in response.content.decode()
    assert "19:00" in response.content.decode()
    with scopes_disabled():
        visit.refresh_from_db()
    assert visit.status == Visit.Status.PROPOSED


def test_change_request_is_recorded_and_shown_to_the_teacher(district, campaign, client):
    """R8, R23.2: "希望换个时间" leaves the visit as it is and puts the parent's note and
    preferred time on the visit page."""
    visit = schedule(district, campaign)
    parent = parent_open(new_token(district, visit))
    preferred = ahead(5, 19)
    response = parent.post("/p/change/", {"note": "周四晚上要加班，周六上午更方便",
                                          "preferred_1": preferred.strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302
    assert "老师会再与您联系" in parent.get("/p/").content.decode()
    with scopes_disabled():
        visit.refresh_from_db()
        event = VisitEvent.objects.get(visit=visit, kind="change_requested")
    assert visit.status == Visit.Status.PROPOSED and event.by is None
    assert event.data["note"] == "周四晚上要加班，周六上午更方便"
    assert dt.datetime.fromisoformat(event.data["preferred"][0]) == preferred
    client.force_login(district.users["head_a1"])
    page = client.get(f"/visits/{visit.pk}/").content.decode()
    assert "家长希望改时间" in page and "周四晚上要加班，周六上午更方便" in page
    assert preferred.strftime("%Y-%m-%d %H:%M") in page


def test_change_request_errors_keep_what_the_parent_typed(district, campaign):
    """Forms keep input on error, messages next to the fields."""
    visit = schedule(district, campaign)
    parent = parent_open(new_token(district, visit))
    past = (timezone.localtime() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = parent.post("/p/change/", {"note": "周末方便", "preferred_1": past})
    assert response.status_code == 400
    body = response.content.decode()
    assert "希望的时间应在现在之后。" in body and "周末方便" in body and past in body
    response = parent.post("/p/change/", {"note": ""})
    assert response.status_code == 400 and "这个字段是必填项。" in response.content.decode()
    with scopes_disabled():
        assert not VisitEvent.objects.filter(visit=visit, kind="change_requested").exists()


def _expire(visit):
    with scopes_disabled():
        ParentLink.objects.filter(visit=visit).update(
            expires_at=timezone.now() - dt.timedelta(minutes=1))


def _revoke(visit):
    with scopes_disabled():
        ParentLink.objects.filter(visit=visit).update(revoked_at=timezone.now())


def _cancel(visit):
    with scopes_disabled():
        visit_cancel(visit=Visit.objects.get(pk=visit.pk), reason="临时有事", by=None)


def _decline(visit):
    with scopes_disabled():
        Visit.objects.filter(pk=visit.pk).update(status=Visit.Status.DECLINED)


@pytest.mark.parametrize("spoil", [_expire, _revoke, _cancel, _decline],
                         ids=["expired", "revoked", "visit cancelled", "visit declined"])
def test_unusable_links_get_the_same_neutral_page_as_unknown_ones(spoil, district, campaign):
    """B12: unknown, expired, revoked and closed-visit links all end on one page (same status,
    same body): nothing tells a guesser which tokens exist."""
    unknown = Client().get("/p/no-such-token-000000000000000000000000000000/", follow=True)
    assert unknown.status_code == 404 and NEUTRAL in unknown.content.decode()
    visit = schedule(district, campaign)
    token = new_token(district, visit)
    spoil(visit)
    response = Client().get(f"/p/{token}/", follow=True)
    assert response.redirect_chain == [("/p/", 302)]
    assert response.status_code == 404
    assert neutral_body(response) == neutral_body(unknown)
    assert Client().get(f"/p/{token}/")["Referrer-Policy"] == "no-referrer"


def test_link_stops_working_mid_session_when_the_visit_is_cancelled(district, campaign):
    """The session is re-checked on every request: a cancelled visit can no longer be
    confirmed from a page opened before."""
    visit = schedule(district, campaign)
    parent = parent_open(new_token(district, visit))
    _cancel(visit)
    assert parent.get("/p/").status_code == 404
    response = parent.post("/p/confirm/", {"version": visit.version})
    assert response.status_code == 404 and NEUTRAL in response.content.decode()
    with scopes_disabled():
        assert Visit.objects.get(pk=visit.pk).status == Visit.Status.CANCELLED


def test_parent_session_is_short(district, campaign):
    """The parent session lasts 30 minutes; then the link has to be opened again."""
    visit = schedule(district, campaign)
    parent = parent_open(new_token(district, visit))
    session = parent.session
    data = session["jiafang_parent_link"]
    data["until"] -= 31 * 60
    session["jiafang_parent_link"] = data
    session.save()
    assert parent.get("/p/").status_code == 404


def test_the_same_link_opens_again_until_it_expires_and_every_use_is_counted(
        district, campaign):
    """Decision: WeChat's browser often drops cookies, so the link may be opened again (from any
    device) until it expires; each opening is recorded for the teacher to see."""
    visit = schedule(district, campaign)
    token = new_token(district, visit)
    parent_open(token)
    parent_open(token).get("/p/")
    with scopes_disabled():
        link = ParentLink.objects.get(visit=visit)
    assert link.use_count == 2 and link.last_used_at >= link.first_used_at


def test_a_new_link_revokes_the_old_one(district, campaign, client):
    visit = schedule(district, campaign)
    old = create_link(client, district, visit)
    new = create_link(client, district, visit)
    assert old != new
    assert Client().get(f"/p/{old}/", follow=True).status_code == 404
    assert Client().get(f"/p/{new}/", follow=True).status_code == 200
    with scopes_disabled():
        assert ParentLink.objects.filter(visit=visit, revoked_at=None).count() == 1


def test_teacher_can_revoke_the_link(district, campaign, client):
    visit = schedule(district, campaign)
    token = create_link(client, district, visit)
    response = client.post(f"/visits/{visit.pk}/parent-link/revoke/", follow=True)
    assert "家长链接已作废。" in response.content.decode()
    assert Client().get(f"/p/{token}/", follow=True).status_code == 404


def test_failed_lookups_are_rate_limited_per_client_ip(district, campaign):
    """B12: after 20 failed lookups from one address in 10 minutes every lookup from it answers
    429, a valid token included; another address is not affected."""
    visit = schedule(district, campaign)
    token = new_token(district, visit)
    guesser = Client(REMOTE_ADDR="203.0.113.9")
    for i in range(public.FAILURE_LIMIT):
        assert guesser.get(f"/p/guess{i:040d}/").status_code == 302
    blocked = guesser.get(f"/p/{token}/")
    assert blocked.status_code == 429 and "尝试次数过多" in blocked.content.decode()
    assert Client(REMOTE_ADDR="198.51.100.7").get(f"/p/{token}/").status_code == 302
    with scopes_disabled():
        assert ParentLink.objects.get(visit=visit).use_count == 1


def test_change_requests_are_capped_per_link(district, campaign):
    visit = schedule(district, campaign)
    parent = parent_open(new_token(district, visit))
    for i in range(public.CHANGE_REQUEST_LIMIT):
        assert parent.post("/p/change/", {"note": f"第{i}次"}).status_code == 302
    assert parent.post("/p/change/", {"note": "再一次"}).status_code == 429


def test_only_those_who_may_change_the_visit_create_links(district, campaign, client):
    """R1: the head teacher, the school's leaders and the lead create links; a subject teacher
    who sees the visit gets 403, a head teacher of another class 404."""
    visit = schedule(district, campaign)
    for persona, status in (("principal_a", 302), ("coordinator_a", 302), ("head_a1", 302),
                            ("subject_a1", 403), ("mental_a", 403), ("head_a2", 404),
                            ("principal_b", 404)):
        client.force_login(district.users[persona])
        assert client.post(f"/visits/{visit.pk}/parent-link/").status_code == status, persona
    with scopes_disabled(), pytest.raises(PermissionDenied):
        services.parent_link_create(visit=visit, by=district.users["subject_a1"])


def test_links_only_for_open_visits_whose_day_is_not_over(district, campaign, client):
    past = schedule(district, campaign, when=ahead(-2))
    client.force_login(district.users["head_a1"])
    response = client.post(f"/visits/{past.pk}/parent-link/")
    assert response.status_code == 400 and "家访日期已过" in response.content.decode()
    cancelled = schedule(district, campaign, when=ahead(4))
    _cancel(cancelled)
    with scopes_disabled(), pytest.raises(ValidationError):
        services.parent_link_create(visit=Visit.objects.get(pk=cancelled.pk),
                                    by=district.users["head_a1"])
    with scopes_disabled():
        assert not ParentLink.objects.exists()


def test_link_expires_at_the_end_of_the_visit_day_at_most_14_days(district, campaign):
    soon = schedule(district, campaign, when=ahead(2, 18))
    later = schedule(district, campaign, family="siblings", when=ahead(30, 18))
    with scopes_disabled():
        link, _raw = services.parent_link_create(visit=soon, by=district.users["head_a1"])
        assert timezone.localtime(link.expires_at) == timezone.localtime(
            ahead(3, 0))
        link, _raw = services.parent_link_create(visit=later, by=district.users["head_a1"])
        assert link.expires_at - link.created_at <= dt.timedelta(days=14, seconds=1)


def test_visit_page_offers_the_link_to_those_who_may_change_it(district, campaign, client):
    visit = schedule(district, campaign)
    client.force_login(district.users["head_a1"])
    assert "生成家长链接" in client.get(f"/visits/{visit.pk}/").content.decode()
    client.force_login(district.users["subject_a1"])
    assert "生成家长链接" not in client.get(f"/visits/{visit.pk}/").content.decode()
