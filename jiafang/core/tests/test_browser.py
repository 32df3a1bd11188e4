"""End to end in headless Chromium (Playwright driving Debian's /usr/bin/chromium).

Each role logs in and lands on its home page at a phone size and a desk size, and sees exactly
its part. Skipped loudly where Chromium is missing (make test prints it); CI installs it.
"""

import pytest
from django_scopes import scopes_disabled

from jiafang.conftest import PASSWORD, build_district

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desk": {"width": 1366, "height": 900}}


@pytest.fixture
def live_district(live_server):
    with scopes_disabled():
        return build_district()


def login(page, live_server, username):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(lambda url: "/accounts/login/" not in url, timeout=10000)


# persona, login with phone?, text that must be on the landing page, text that must not be
ROLES = [
    ("bureau_officer", True, ["学校概览", "测试实验小学", "测试初级中学"], ["外区小学"]),
    ("principal_a", False, ["测试实验小学", "三年级(1)班", "三年级(2)班", "导入名册"], ["七年级"]),
    ("coordinator_a", True, ["测试实验小学", "三年级(2)班", "导入名册"], ["测试初级中学"]),
    ("head_a1", False, ["三年级(1)班", "王小明", "李思", "13812345678"], ["赵一"]),
    ("subject_a1", True, ["三年级(1)班", "王小明", "138****5678"], ["13812345678", "赵一"]),
    ("mental_a", False, ["重点关注学生", "李思", "王小红"], ["赵一", "王小明"]),
    ("safety_a", False, ["测试实验小学", "三年级(1)班"], ["王小明", "导入名册"]),
]


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
@pytest.mark.parametrize(("persona", "by_phone", "present", "absent"), ROLES,
                         ids=[r[0] for r in ROLES])
def test_each_role_lands_on_its_home(persona, by_phone, present, absent, viewport,
                                     live_server, live_district, browser):
    context = browser.new_context(viewport=VIEWPORTS[viewport], locale="zh-CN")
    page = context.new_page()
    user = live_district.users[persona]
    login(page, live_server, user.phone if by_phone else user.username)
    assert "/accounts/login/" not in page.url
    body = page.inner_text("body")
    for text in present:
        assert text in body, f"{persona} on {viewport}: missing {text}"
    for text in absent:
        assert text not in body, f"{persona} on {viewport}: must not see {text}"
    # nothing overflows sideways on a phone
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORTS[viewport]["width"] + 1
    context.close()


def test_out_of_scope_page_is_not_found_in_the_browser(live_server, live_district, browser):
    page = browser.new_page(viewport=VIEWPORTS["phone"], locale="zh-CN")
    login(page, live_server, "head_b1")
    response = page.goto(f"{live_server.url}/students/{live_district.students['a1_focus'].pk}/")
    assert response.status == 404
    page.close()


def test_wrong_password_keeps_the_login_and_says_why(live_server, live_district, browser):
    page = browser.new_page(viewport=VIEWPORTS["phone"], locale="zh-CN")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", "head_a1")
    page.fill("#id_password", "wrong-password-1")
    page.click("button[type=submit].primary")
    assert "用户名/手机号或密码不正确" in page.inner_text("body")
    assert page.input_value("#id_username") == "head_a1"
    page.close()


def test_language_switch_to_english(live_server, live_district, browser):
    page = browser.new_page(viewport=VIEWPORTS["desk"], locale="zh-CN")
    login(page, live_server, "head_a1")
    page.click("button[name=language][value=en]")
    page.wait_for_load_state("domcontentloaded")
    body = page.inner_text("body")
    assert "Settings" in body and "Log out" in body
    page.click("button[name=language][value=zh-hans]")
    page.wait_for_load_state("domcontentloaded")
    assert "设置" in page.inner_text("body")
    page.close()
