"""Issue 3 "done when", in headless Chromium at phone size, as new users would do it:

a coordinator drafts the task map and moves two families to another teacher (R8, R10); the head
teacher schedules a visit to a family with two enrolled children, prepares it (R11), sends the
parent link, and records it with the network cut while writing — the draft is still there after
reopening (R12, R23); the parent confirms through the link without an account (R17); another
family declines. Coverage moves at class, school and bureau level and by focus category exactly
by the families and children visited (R3, R4, R5); the Word record and the Excel ledger open and
hold what was typed (R24); a teacher of another school can neither see nor export any of it.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import time

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled
from docx import Document
from openpyxl import load_workbook

from jiafang.campaigns.services import campaign_create
from jiafang.conftest import build_district
from jiafang.core.tests.test_browser import VIEWPORTS, login
from jiafang.visits.defaults import LOCAL_TZ, seed_demand_categories
from jiafang.visits.models import DemandCategory, Visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PREP = "表扬王小明数学进步，了解王小红的住校适应"
OFFLINE = "断网时写下的家访过程：与奶奶交流了孩子的作息"
STRENGTH = "王小明乐于助人"


@pytest.fixture
def live_district(live_server):
    with scopes_disabled():
        district = build_district()
        seed_demand_categories(DemandCategory)
        today = timezone.localdate()
        campaign = campaign_create(
            bureau=district.bureau, by=district.users["bureau_officer"], name="本学年大家访",
            starts_on=today - dt.timedelta(days=60), ends_on=today + dt.timedelta(days=120),
            plan_due_on=today - dt.timedelta(days=30), summary_due_on=today + dt.timedelta(days=60),
            counting_forms=["in_person"])
    return district, campaign


def _json(page, url: str) -> dict:
    page.goto(url)
    return json.loads(page.inner_text("body"))


def _coverage(page, base: str, campaign, query: str = "") -> tuple:
    body = _json(page, f"{base}/api/v1/coverage?campaign={campaign.pk}{query}")
    categories = {c["code"]: (c["visited"], c["total"]) for c in body["by_category"]}
    return (body["students"]["visited"], body["students"]["total"],
            body["families"]["visited"], body["families"]["total"],
            body["families"]["declined"], categories["left_behind_single_parent"])


def _no_horizontal_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORTS["phone"]["width"] + 1, page.url


def _phone(browser):
    return browser.new_context(viewport=VIEWPORTS["phone"], locale="zh-CN", accept_downloads=True)


def _schedule(page, base: str, family, when: dt.datetime) -> int:
    """Schedule through /visits/new/; the form proposes the task map's lead."""
    page.goto(f"{base}/visits/new/?family={family.pk}")
    page.fill("#id_date", when.strftime("%Y-%m-%d"))
    page.fill("#id_time", when.strftime("%H:%M"))
    with page.expect_navigation():
        page.click("button[type=submit].primary")
    if page.locator("input[name=confirm]").count():  # warnings first (class time, by the clock)
        with page.expect_navigation():
            page.click("button[type=submit].primary")
    page.wait_for_url(lambda url: "/visits/new/" not in url)
    return int(page.url.rstrip("/").split("/")[-1])


def test_a_campaign_from_task_map_to_ledger(live_server, live_district, browser):
    d, campaign = live_district
    base = live_server.url
    class_a1 = d.class_a1.pk

    # --- coverage before: nothing visited -------------------------------------------------
    officer = _phone(browser).new_page()
    login(officer, live_server, "bureau_officer")
    before_bureau = _coverage(officer, base, campaign)
    assert before_bureau == (0, 5, 0, 4, 0, (0, 1))

    # --- the coordinator drafts the task map and moves two families to subject_a1 ----------
    coordinator = _phone(browser).new_page()
    login(coordinator, live_server, "coordinator_a")
    coordinator.goto(f"{base}/schools/{d.school_a.pk}/taskmap/?campaign={campaign.pk}")
    coordinator.click("form.draft-form button[type=submit]")
    coordinator.wait_for_selector(".teacher-tasks > summary")
    text = coordinator.inner_text("main")
    assert "head_a1" in text and "head_a2" in text and "主访 2 户" in text
    _no_horizontal_scroll(coordinator)
    for teacher in ("head_a1", "head_a2"):  # each teacher's list is folded: unfold it
        coordinator.click(f"#teacher-{d.users[teacher].pk} > summary")
    for key in ("a1_only", "a2_only"):
        coordinator.check(f"input[name=family][value='{d.families[key].pk}']")
    coordinator.select_option("select[name=lead]", str(d.users["subject_a1"].pk))
    coordinator.click("form.reassign-form .reassign-bar button[type=submit]")
    coordinator.wait_for_selector(f"#teacher-{d.users['subject_a1'].pk}")
    moved = coordinator.inner_text(f"#teacher-{d.users['subject_a1'].pk}")
    assert "李思" in moved and "赵一" in moved and "手动调整" in moved
    coordinator.click(f"#teacher-{d.users['head_a1'].pk} > summary")
    assert "王小明" in coordinator.inner_text(f"#teacher-{d.users['head_a1'].pk}")

    subject = _phone(browser).new_page()
    login(subject, live_server, "subject_a1")
    subject.goto(f"{base}/taskmap/mine/")
    led, joined = subject.inner_text("main").split("我同行的家庭")
    assert "李思" in led and "赵一" in led and "王小明" not in led
    assert "王小明" in joined  # companion of the sibling family (a subject teacher of 3(1))

    # --- the head teacher schedules the sibling family, prepares and sends the link --------
    head_context = _phone(browser)
    head = head_context.new_page()
    login(head, live_server, "head_a1")
    now = timezone.now().astimezone(LOCAL_TZ)
    when = max(now - dt.timedelta(minutes=20), now.replace(hour=0, minute=5))
    visit_id = _schedule(head, base, d.families["siblings"], when)
    assert "待确认" in head.inner_text("main")

    head.click(f"a[href='/visits/{visit_id}/prepare/']")
    profile = head.inner_text("main")
    assert "王小明" in profile and "王小红" in profile and "三年级(2)班" in profile
    assert "留守" in profile  # 王小红's focus category
    head.fill("[name=topics]", PREP)
    head.click("form.prep-form button[type=submit]")
    head.wait_for_url(lambda url: url.endswith(f"/visits/{visit_id}/") or "prepare" in url)
    head.goto(f"{base}/visits/{visit_id}/")
    assert "已准备" in head.inner_text("main")

    head.click("section.parent-link form button[type=submit]")
    link = head.inner_text("code.token").strip()
    assert "/p/" in link

    # --- the parent confirms without an account ---------------------------------------------
    parent_context = _phone(browser)
    parent = parent_context.new_page()
    parent.goto(link)
    parent.wait_for_url(lambda url: url.rstrip("/").endswith("/p"))
    shown = parent.inner_text("body")
    assert when.strftime("%H:%M") in shown and "head_a1" in shown  # the lead's name
    assert "王小明" not in shown and "塘桥路" not in shown  # no child, no address
    _no_horizontal_scroll(parent)
    parent.click("form.parent-confirm button[type=submit]")
    parent.wait_for_load_state()
    assert "您已确认" in parent.inner_text("body")
    with scopes_disabled():
        assert Visit.objects.get(pk=visit_id).status == Visit.Status.CONFIRMED

    # --- another family declines (the coordinator schedules and records it) -----------------
    declined_id = _schedule(coordinator, base, d.families["a2_only"], when)
    coordinator.fill("form[action$='/decline/'] [name=reason]", "家中老人住院，本月不便")
    coordinator.click("form[action$='/decline/'] button[type=submit]")
    coordinator.wait_for_load_state()
    assert "家长婉拒" in coordinator.inner_text("main")

    # --- the record: network cut while writing, tab closed, reopened ------------------------
    record_url = f"{base}/visits/{visit_id}/record/"
    head.goto(record_url)
    assert head.input_value("#id_preparation").count("表扬王小明数学进步") == 1  # from the notes
    storage = head.get_attribute("#record-form", "data-storage")
    head_context.set_offline(True)
    head.fill("#id_process", OFFLINE)
    head.fill(f"[name='child.{d.students['a1_sibling'].pk}.strengths']", STRENGTH)
    head.wait_for_function(f"() => !!localStorage.getItem('{storage}')", timeout=5000)
    time.sleep(1)  # the last change's encryption lands
    head.close()
    head_context.set_offline(False)
    head = head_context.new_page()
    head.goto(record_url)
    head.wait_for_function(
        f"() => document.querySelector('#id_process').value === '{OFFLINE}'", timeout=5000)
    assert head.input_value(f"[name='child.{d.students['a1_sibling'].pk}.strengths']") == STRENGTH
    for student, (good, weak, method) in {
        "a1_sibling": (STRENGTH, "字迹潦草", "每天练字十分钟"),
        "a2_sibling": ("王小红独立自理", "不爱说话", "鼓励参加兴趣小组"),
    }.items():
        pk = d.students[student].pk
        head.fill(f"[name='child.{pk}.strengths']", good)
        head.fill(f"[name='child.{pk}.shortcomings']", weak)
        head.fill(f"[name='child.{pk}.methods']", method)
    head.fill("[name=parent_demands]", "希望学校多组织亲子活动")
    head.check("input[name=contents][value=family_situation]")
    head.check("input[name=no_gifts]")
    head.click("form#record-form button[type=submit].primary")
    head.wait_for_load_state()
    assert "下载记录表（Word）" in head.inner_text("main")
    _no_horizontal_scroll(head)

    # --- coverage moved exactly by the two children and one family ---------------------------
    assert _coverage(officer, base, campaign) == (2, 5, 1, 4, 1, (1, 1))
    principal = _phone(browser).new_page()
    login(principal, live_server, "principal_a")
    assert _coverage(principal, base, campaign, f"&school={d.school_a.pk}") == (
        2, 4, 1, 3, 1, (1, 1))
    assert _coverage(principal, base, campaign, f"&class={class_a1}")[:4] == (1, 2, 1, 2)
    principal.goto(f"{base}/schools/{d.school_a.pk}/coverage/?campaign={campaign.pk}")
    assert "1/3" in principal.inner_text("main")  # families visited / total
    head.goto(f"{base}/classes/{class_a1}/todo/?campaign={campaign.pk}")
    todo = head.inner_text("main")
    assert "已家访 1/2 个家庭" in todo and "李思" in todo and "王小明" not in todo

    # --- the Word record and the Excel ledger hold what was typed ----------------------------
    head.goto(f"{base}/visits/{visit_id}/")
    with head.expect_download() as download:
        head.click(f"a[href='/exports/visits/{visit_id}/record.docx']")
    document = Document(download.value.path())
    words = "\n".join(cell.text for table in document.tables for row in table.rows
                      for cell in row.cells) + "\n".join(p.text for p in document.paragraphs)
    assert "测试实验小学" in words and OFFLINE in words and STRENGTH in words and PREP in words
    coordinator.goto(f"{base}/classes/{class_a1}/todo/?campaign={campaign.pk}")
    with coordinator.expect_download() as download:
        coordinator.click("a[href*='/exports/ledger.xlsx']")
    sheet = load_workbook(io.BytesIO(open(download.value.path(), "rb").read())).active
    cells = [str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None]
    assert "学生姓名" in cells and any(OFFLINE in c for c in cells)
    assert any("王小明" in c for c in cells)

    # --- a teacher of another school sees and exports none of it (404) ----------------------
    stranger = _phone(browser).new_page()
    login(stranger, live_server, "head_b1")
    for url in (f"/visits/{visit_id}/", f"/visits/{visit_id}/prepare/",
                f"/exports/visits/{visit_id}/record.docx",
                f"/exports/ledger.xlsx?campaign={campaign.pk}&class={class_a1}",
                f"/classes/{class_a1}/todo/?campaign={campaign.pk}"):
        response = stranger.request.get(f"{base}{url}")
        assert response.status == 404, url
    assert declined_id != visit_id
