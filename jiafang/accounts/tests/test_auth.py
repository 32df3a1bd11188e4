"""Login, lockout, sessions, passwords and API tokens (SECURITY.md C2–C5, C8; R23.10)."""

import time
from datetime import timedelta
from io import StringIO

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from jiafang.accounts.models import AccessToken, User
from jiafang.conftest import PASSWORD


def _login(client, username, password=PASSWORD, **extra):
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra)


def test_login_by_username_or_phone_lands_on_the_role_home(district, client):
    response = _login(client, "head_a1")
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/")["Location"] == f"/classes/{district.class_a1.pk}/"
    client.post("/accounts/logout/")
    response = _login(client, district.users["bureau_officer"].phone)
    assert response.status_code == 302
    assert client.get("/")["Location"] == "/schools/"


@pytest.mark.parametrize(("persona", "home"), [
    ("bureau_officer", "/schools/"),
    ("principal_a", "/schools/{a}/"),
    ("coordinator_a", "/schools/{a}/"),
    ("safety_a", "/schools/{a}/"),
    ("mental_a", "/schools/{a}/focus/"),
    ("head_a1", "/classes/{a1}/"),
    ("subject_a1", "/classes/{a1}/"),
])
def test_home_page_per_role(persona, home, district, client):
    client.force_login(district.users[persona])
    expected = home.format(a=district.school_a.pk, a1=district.class_a1.pk)
    assert client.get("/")["Location"] == expected


def test_a_person_with_several_roles_chooses(district, client):
    from jiafang.accounts.services import role_grant

    user = district.users["head_a1"]
    role_grant(user=user, kind="subject_teacher", school_class=district.class_a2, subject="语文")
    user._jiafang_access = None
    client.force_login(user)
    page = client.get("/").content.decode()
    assert f"/classes/{district.class_a1.pk}/" in page and f"/classes/{district.class_a2.pk}/" in page
    assert "班主任" in page and "学科教师" in page


def test_user_without_role_is_told(district, client):
    client.force_login(district.users["no_role"])
    assert "还没有分配任何学校或班级" in client.get("/").content.decode()


def test_unknown_and_wrong_password_answers_are_identical(district, client):
    """C8: the login page does not tell whether an account exists."""
    wrong = _login(client, "head_a1", "not-the-password-123")
    unknown = _login(Client(), "nobody-here", "not-the-password-123")
    assert wrong.status_code == unknown.status_code == 200

    def strip(body):
        import re
        return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body.decode()).replace(
            "head_a1", "").replace("nobody-here", "")

    assert strip(wrong.content) == strip(unknown.content)
    assert "用户名/手机号或密码不正确" in wrong.content.decode()


def test_passwords_are_argon2id_and_old_hashes_upgrade(district, client):
    """C2: Argon2id; a PBKDF2 hash from an older system is upgraded at the next login."""
    user = district.users["head_a1"]
    assert user.password.startswith("argon2$argon2id$")
    User.objects.filter(pk=user.pk).update(
        password=make_password(PASSWORD, hasher="pbkdf2_sha256"))
    assert _login(client, "head_a1").status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")


def test_lockout_after_five_failures_per_user_and_ip(district, client):
    """C3: the 6th attempt is refused even with the right password; another user on the same
    IP (a school behind one NAT address) is not locked; released after the cool-off."""
    for _ in range(4):
        assert _login(client, "head_a1", "wrong-password-000").status_code == 200
    # the 5th failure locks: it is told so, and attempt 6 is refused with the right password
    assert _login(client, "head_a1", "wrong-password-000").status_code == 429
    locked = _login(client, "head_a1")
    assert locked.status_code == 429
    assert "15 分钟" in locked.content.decode()
    assert _login(Client(), "head_a2").status_code == 302  # same IP, other user
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert _login(Client(), "head_a1").status_code == 302


def test_session_key_rotates_at_login_and_dies_at_logout(district, client):
    """C5: new session key at login; the old cookie is dead after logout."""
    client.get("/accounts/login/")
    client.session["probe"] = 1
    before = client.cookies.get("sessionid")
    _login(client, "head_a1")
    after = client.cookies["sessionid"].value
    assert before is None or before.value != after
    client.post("/accounts/logout/")
    thief = Client()
    thief.cookies["sessionid"] = after
    assert thief.get(f"/classes/{district.class_a1.pk}/").status_code == 302


def test_idle_timeout_at_thirty_minutes(district, client):
    """C4 (idle, exact boundary): 30 min without a request ends the session."""
    _login(client, "head_a1")
    url = f"/classes/{district.class_a1.pk}/"
    session = client.session
    session["seen_at"] = time.time() - 30 * 60 + 30
    session.save()
    assert client.get(url).status_code == 200  # touched: idle clock restarts
    assert time.time() - client.session["seen_at"] < 5
    session = client.session
    session["seen_at"] = time.time() - 30 * 60 - 1
    session.save()
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.get(url).status_code == 302


def test_session_is_not_rewritten_on_every_request(district, client):
    """The idle clock is refreshed at most once a minute: a page view writes nothing."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _login(client, "head_a1")
    url = f"/classes/{district.class_a1.pk}/"
    client.get(url)
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    assert not [q for q in ctx.captured_queries if q["sql"].startswith("UPDATE")]


def test_absolute_timeout_at_twelve_hours(district, client):
    """C4 (absolute): 12 h after login the session ends whatever the activity."""
    _login(client, "head_a1")
    url = f"/classes/{district.class_a1.pk}/"
    session = client.session
    session["login_at"] = time.time() - 12 * 3600 + 30
    session.save()
    assert client.get(url).status_code == 200
    session = client.session
    session["login_at"] = time.time() - 12 * 3600 - 1
    session.save()
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert client.get(url).status_code == 302  # and it stays ended


def test_password_change_requires_the_old_one_and_twelve_characters(district, client):
    client.force_login(district.users["head_a1"])
    short = client.post("/accounts/password/", {"old_password": PASSWORD,
                                                "new_password1": "short-pw", "new_password2": "short-pw"})
    assert short.status_code == 200 and "12" in short.content.decode()
    context = client.post("/accounts/password/", {"old_password": PASSWORD,
                                                  "new_password1": "测试实验小学测试实验小学",
                                                  "new_password2": "测试实验小学测试实验小学"})
    assert "学校或地区名称" in context.content.decode()
    ok = client.post("/accounts/password/", {
        "old_password": PASSWORD, "new_password1": "a long passphrase for visits",
        "new_password2": "a long passphrase for visits"})
    assert ok.status_code == 302
    client.post("/accounts/logout/")
    assert _login(Client(), "head_a1", "a long passphrase for visits").status_code == 302


@pytest.mark.parametrize("switch", [False, True])
def test_composition_rule_switch(switch, district, client, settings):
    """C1 (等保 switch): composition rules are off by default and enforced when on."""
    settings.PASSWORD_COMPOSITION_RULES = switch
    client.force_login(district.users["head_a1"])
    response = client.post("/accounts/password/", {
        "old_password": PASSWORD, "new_password1": "all lowercase words here",
        "new_password2": "all lowercase words here"})
    assert (response.status_code == 200) is switch
    assert ("至少三类" in response.content.decode()) is switch


@pytest.mark.parametrize("max_age", [0, 90])
def test_rotation_switch(max_age, district, client, settings):
    """C1 (等保 switch): forced rotation only when JIAFANG_PASSWORD_MAX_AGE_DAYS > 0."""
    settings.PASSWORD_MAX_AGE_DAYS = max_age
    user = district.users["head_a1"]
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=91))
    client.force_login(user)
    response = client.get(f"/classes/{district.class_a1.pk}/")
    if max_age:
        assert response.status_code == 302 and response["Location"] == "/accounts/password/"
        assert client.get("/accounts/password/").status_code == 200
    else:
        assert response.status_code == 200


# --- personal access tokens ------------------------------------------------------------------

def test_token_created_on_settings_page_works_and_can_be_revoked(district, client):
    client.force_login(district.users["head_a1"])
    created = client.post("/accounts/settings/", {"name": "班级统计"})
    assert created.status_code == 302  # post/redirect/get: a refresh creates nothing
    page = client.get("/accounts/settings/").content.decode()
    import re

    raw = re.search(r'id="new-token">(jf_[^<]+)<', page).group(1)
    token = AccessToken.objects.get()
    assert token.key_hash != raw and raw not in token.key_hash  # stored hashed
    api = Client()
    response = api.get("/api/v1/students", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    assert {s["name"] for s in response.json()["items"]} == {"王小明", "李思"}
    # the token page never shows it again, and only one token was made
    assert raw not in client.get("/accounts/settings/").content.decode()
    assert AccessToken.objects.count() == 1
    client.post(f"/accounts/settings/tokens/{token.pk}/revoke/")
    assert api.get("/api/v1/students", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_bad_and_deactivated_tokens_are_refused(district):
    out = StringIO()
    call_command("issue_token", "head_a1", stdout=out, stderr=StringIO())
    raw = out.getvalue().strip()
    api = Client()
    assert api.get("/api/v1/schools", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    assert api.get("/api/v1/schools", HTTP_AUTHORIZATION=f"Bearer {raw}x").status_code == 401
    assert api.get("/api/v1/schools", HTTP_AUTHORIZATION="Bearer ").status_code == 401
    User.objects.filter(username="head_a1").update(is_active=False)
    assert api.get("/api/v1/schools", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_issue_token_for_unknown_user_fails(db):
    with pytest.raises(CommandError):
        call_command("issue_token", "ghost", stdout=StringIO(), stderr=StringIO())


def test_token_scope_is_the_users_scope(district):
    out = StringIO()
    call_command("issue_token", district.users["head_b1"].phone, stdout=out, stderr=StringIO())
    api = Client(HTTP_AUTHORIZATION=f"Bearer {out.getvalue().strip()}")
    assert api.get(f"/api/v1/students/{district.students['a1_focus'].pk}").status_code == 404
    assert api.get(f"/api/v1/students/{district.students['b_focus'].pk}").status_code == 200


def test_no_default_accounts_exist(db):
    """No account or password exists by default anywhere (only the demo creates logins)."""
    assert User.objects.count() == 0


def test_demo_accounts_cannot_log_in_outside_demo_mode(district, settings):
    """A demo database promoted to production by mistake: its published logins stay shut."""
    User.objects.filter(username="head_a1").update(email="head1@demo.jiafang.invalid")
    settings.DEBUG, settings.DEMO_MODE = False, False
    assert _login(Client(), "head_a1").status_code == 200
    settings.DEMO_MODE = True
    assert _login(Client(), "head_a1").status_code == 302


def test_demo_account_tokens_are_refused_outside_demo_mode(district, settings):
    User.objects.filter(username="head_a1").update(email="head1@demo.jiafang.invalid")
    out = StringIO()
    call_command("issue_token", "head_a1", stdout=out, stderr=StringIO())
    api = Client(HTTP_AUTHORIZATION=f"Bearer {out.getvalue().strip()}")
    settings.DEBUG, settings.DEMO_MODE = False, False
    assert api.get("/api/v1/schools").status_code == 401
    settings.DEMO_MODE = True
    assert api.get("/api/v1/schools").status_code == 200


def test_expired_session_on_the_api_gets_json_401(district, client):
    _login(client, "head_a1")
    assert client.get("/api/v1/students").status_code == 200
    session = client.session
    session["seen_at"] = time.time() - 31 * 60
    session.save()
    response = client.get("/api/v1/students")
    assert response.status_code == 401 and "登录已过期" in response.json()["detail"]
