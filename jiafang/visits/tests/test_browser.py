"""The record draft in headless Chromium at phone size (issue 3 pt 6; SECURITY.md F11): the
network drops while the head teacher types, the tab is closed, and on reopening (online) the
draft is back in the form and saved to the server; the browser copy was encrypted."""

import datetime as dt
import time

import pytest
from django_scopes import scopes_disabled

from jiafang.conftest import build_district, make_campaign
from jiafang.core.tests.test_browser import VIEWPORTS, login
from jiafang.visits.defaults import seed_demand_categories
from jiafang.visits.models import DemandCategory, VisitRecordDraft
from jiafang.visits.services import visit_schedule
from jiafang.visits.tests.conftest import at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TYPED = "离线时写下的家访准备"


@pytest.fixture
def live_visit(live_server):
    with scopes_disabled():
        district = build_district()
        seed_demand_categories(DemandCategory)
        campaign = make_campaign(district, today=dt.date(2025, 1, 1))
        visit = visit_schedule(campaign=campaign, family=district.families["siblings"],
                               lead=district.users["head_a1"], companions=[],
                               scheduled_at=at(4, 15, 17), duration_minutes=60,
                               form="in_person", by=district.users["head_a1"]).visit
    return district, visit


def _draft(visit):
    with scopes_disabled():
        return VisitRecordDraft.objects.filter(visit_id=visit.pk).first()


def test_draft_survives_offline_typing_and_a_closed_tab(live_server, live_visit, browser):
    district, visit = live_visit
    context = browser.new_context(viewport=VIEWPORTS["phone"], locale="zh-CN")
    page = context.new_page()
    login(page, live_server, "head_a1")
    url = f"{live_server.url}/visits/{visit.pk}/record/"
    page.goto(url)
    assert "王小红" in page.inner_text("body")  # both children of the family
    storage = page.get_attribute("#record-form", "data-storage")

    context.set_offline(True)
    page.fill("#id_preparation", TYPED)
    child = district.students["a2_sibling"].pk
    page.fill(f"[name='child.{child}.strengths']", "王小红爱读书")
    page.check("input[name=contents][value=opinions]")
    page.wait_for_function(f"() => !!localStorage.getItem('{storage}')", timeout=5000)
    time.sleep(1)  # let the last change's encryption land
    stored = page.evaluate(f"() => localStorage.getItem('{storage}')")
    assert TYPED not in stored and "王小红" not in stored  # encrypted (F11)
    assert _draft(visit) is None  # nothing reached the server
    page.close()

    context.set_offline(False)
    page = context.new_page()
    page.goto(url)
    page.wait_for_function(
        f"() => document.querySelector('#id_preparation').value === '{TYPED}'", timeout=5000)
    assert page.input_value(f"[name='child.{child}.strengths']") == "王小红爱读书"
    assert page.is_checked("input[name=contents][value=opinions]")
    page.wait_for_function(f"() => !localStorage.getItem('{storage}')", timeout=10000)
    draft = _draft(visit)
    assert draft is not None and draft.data["preparation"] == TYPED
    # and the server draft alone restores it too (another device, no local copy)
    other = browser.new_context(viewport=VIEWPORTS["phone"], locale="zh-CN")
    page2 = other.new_page()
    login(page2, live_server, "head_a1")
    page2.goto(url)
    assert page2.input_value("#id_preparation") == TYPED
    assert page2.evaluate(f"() => localStorage.getItem('{storage}')") is None
    width = page2.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORTS["phone"]["width"] + 1
    other.close()
    context.close()
