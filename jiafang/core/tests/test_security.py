"""Security baseline tests (SECURITY.md A2, A6, B5–B8, D1–D4)."""

import re
from pathlib import Path

import pytest
from django.test import Client, override_settings
from django_scopes import ScopeError, scopes_disabled

from jiafang.core.tests.test_access_matrix import CASES
from jiafang.schools.models import FocusCategory, FocusFlag, Guardian, School, Student

ROOT = Path(__file__).resolve().parents[2]


# --- A2 headers --------------------------------------------------------------------------

def _assert_baseline_headers(response, url):
    csp = response.get("Content-Security-Policy", "")
    for directive in ("default-src 'self'", "object-src 'none'", "base-uri 'none'",
                      "frame-ancestors 'none'", "form-action 'self'"):
        assert directive in csp, f"{url}: CSP lacks {directive}"
    assert response["X-Content-Type-Options"] == "nosniff", url
    # a parent-link token URL (/p/<token>/) sends no Referer at all (B12); the token-free
    # parent pages keep same-origin so that their form POSTs carry an Origin (CSRF)
    token_url = url.startswith("/p/") and url.rstrip("/") != "/p" and url.count("/") == 3
    assert response["Referrer-Policy"] == ("no-referrer" if token_url else "same-origin"), url
    assert response["X-Frame-Options"] == "DENY", url
    assert "no-store" in response["Cache-Control"], url


@pytest.mark.parametrize("persona", ["anonymous", "coordinator_a", "head_a1"])
def test_headers_on_every_url_including_errors(persona, matrix_district, client, settings):
    """A2: the header baseline on every listed URL, on 404s and on error pages with DEBUG off."""
    settings.DEBUG = False
    district = matrix_district
    if persona != "anonymous":
        client.force_login(district.users[persona])
    seen = 0
    for case in CASES:
        if case.method != "get" or case.name == "accounts:token_revoke":
            continue
        url = case.url(district)
        response = client.get(url)
        _assert_baseline_headers(response, url)
        seen += 1
    for url in ("/does-not-exist/", "/students/999999/", "/api/v1/nothing"):
        _assert_baseline_headers(client.get(url), url)
    assert seen >= 15


def test_error_pages_show_no_traceback(district, client, settings):
    """F5 (partly): a 404 with DEBUG off shows no settings, SQL or traceback."""
    settings.DEBUG = False
    client.force_login(district.users["head_a1"])
    body = client.get("/students/999999/").content.decode()
    assert "Traceback" not in body and "SECRET_KEY" not in body and "SELECT" not in body


# --- A6 lint -----------------------------------------------------------------------------

SOURCE = [p for p in ROOT.rglob("*.py") if "/migrations/" not in str(p) and "/tests/" not in str(p)]
TEMPLATES = list(ROOT.rglob("*.html"))


def test_no_mass_assignment_forms_no_mark_safe_no_raw_sql():
    """A6: no ModelForm with __all__/exclude, no mark_safe/|safe, no extra()/RawSQL."""
    offenders = []
    for path in SOURCE:
        text = path.read_text(encoding="utf-8")
        for pattern in (r"fields\s*=\s*['\"]__all__['\"]", r"^\s*exclude\s*=", r"mark_safe\(",
                        r"\.extra\(", r"RawSQL\(", r"\.raw\("):
            if re.search(pattern, text, re.MULTILINE):
                offenders.append(f"{path}: {pattern}")
    for path in TEMPLATES:
        text = path.read_text(encoding="utf-8")
        if re.search(r"\|\s*safe\b", text) or "{% autoescape off" in text:
            offenders.append(f"{path}: |safe or autoescape off")
        if re.search(r"<script(?![^>]*\bsrc=)", text) or re.search(r"\sstyle=", text):
            offenders.append(f"{path}: inline script or style (CSP)")
    assert offenders == []


SCOPE_BYPASS_ALLOWED = {
    "schools/scoping.py",  # computes the scope itself
    "accounts/validators.py",  # school names as password context words
    "conftest.py",  # test fixtures
    "schools/services.py",  # school_create: a school is set up before any scope can include it
    # a parent has no account: a link token hash → its school, then scope(school=[that one])
    "timetable/public.py",
}


def test_scopes_are_bypassed_only_where_listed():
    """B7 guardrail: django-scopes may be switched off only in the listed places, plus
    management commands (which open their own scope) and the demo generator."""
    offenders = []
    for path in SOURCE:
        rel = str(path.relative_to(ROOT))
        text = path.read_text(encoding="utf-8")
        if ("scopes_disabled" in text or "with_scopes_disabled" in text) and not (
            rel in SCOPE_BYPASS_ALLOWED or "/management/commands/" in rel
            or rel.startswith("demo/")
        ):
            offenders.append(rel)
    assert offenders == []


# --- B5, B6 field level -------------------------------------------------------------------

def test_unscoped_query_raises(db):
    """B7: a school-owned query outside an open scope raises instead of leaking."""
    with pytest.raises(ScopeError):
        list(Student.objects.all())
    with pytest.raises(ScopeError):
        Guardian.objects.filter(phone="13812345678").exists()


def test_subject_teacher_sees_masked_contacts_and_no_focus_reasons(district, client):
    """B6: a subject teacher sees the class, but guardian phones and addresses are masked and
    the reasons behind focus flags are not shown; the head teacher sees them."""
    client.force_login(district.users["subject_a1"])
    student = district.students["a1_focus"]
    for url in (f"/classes/{district.class_a1.pk}/", f"/students/{student.pk}/",
                "/api/v1/students", "/api/v1/families", f"/api/v1/families/{student.family_id}"):
        body = client.get(url).content.decode()
        assert "13900001111" not in body, url
        assert "塘桥路18号" not in body, url
        assert "情绪低落" not in body, url
    page = client.get(f"/students/{student.pk}/").content.decode()
    assert "139****1111" in page
    assert "心理健康有困难的学生" in page  # the tag itself is visible to the teacher

    client.force_login(district.users["head_a1"])
    page = client.get(f"/students/{student.pk}/").content.decode()
    assert "13900001111" in page and "塘桥路18号" in page and "情绪低落" in page


def test_bureau_officer_sees_masked_contacts(district, client):
    client.force_login(district.users["bureau_officer"])
    body = client.get(f"/classes/{district.class_a1.pk}/").content.decode()
    assert "138****5678" in body and "13812345678" not in body


def test_mental_health_teacher_sees_only_focus_students(district, client):
    """B5: the focus list is filtered, not merely forbidden."""
    client.force_login(district.users["mental_a"])
    names = {s["name"] for s in client.get("/api/v1/students").json()["items"]}
    assert names == {"李思", "王小红"}
    page = client.get(f"/schools/{district.school_a.pk}/focus/").content.decode()
    assert "李思" in page and "王小红" in page and "赵一" not in page


EXPECTED_STUDENTS = {
    "bureau_officer": {"王小明", "王小红", "李思", "赵一", "陈晨"},
    "city_officer": {"王小明", "王小红", "李思", "赵一", "陈晨"},
    "other_officer": {"周周"},
    "principal_a": {"王小明", "王小红", "李思", "赵一"},
    "coordinator_a": {"王小明", "王小红", "李思", "赵一"},
    "head_a1": {"王小明", "李思"},
    "head_a2": {"王小红", "赵一"},
    "subject_a1": {"王小明", "李思"},
    "mental_a": {"王小红", "李思"},
    "safety_a": set(),
    "principal_b": {"陈晨"},
    "head_b1": {"陈晨"},
    "no_role": set(),
}


@pytest.mark.parametrize("persona", sorted(EXPECTED_STUDENTS))
def test_lists_are_filtered_to_the_persona(persona, district, client):
    """B5: API lists hold exactly the persona's students and their families."""
    client.force_login(district.users[persona])
    data = client.get("/api/v1/students?limit=500").json()
    assert {s["name"] for s in data["items"]} == EXPECTED_STUDENTS[persona]
    assert data["count"] == len(EXPECTED_STUDENTS[persona])
    families = client.get("/api/v1/families?limit=500").json()["items"]
    family_children = {s["name"] for f in families for s in f["students"]}
    assert family_children == EXPECTED_STUDENTS[persona]


def test_sibling_out_of_scope_is_counted_not_named(district, client):
    """B5: the head teacher of 3(1) learns 王小明 has a sibling at school (one visit covers the
    family) but not who, since 王小红 in 3(2) is outside their scope; her leaders see her name."""
    client.force_login(district.users["head_a1"])
    for url in (f"/classes/{district.class_a1.pk}/",
                f"/students/{district.students['a1_sibling'].pk}/"):
        page = client.get(url).content.decode()
        assert "王小红" not in page and "同家庭另有 1 个孩子在本校其他班级" in page
    assert client.get(f"/students/{district.students['a2_sibling'].pk}/").status_code == 404
    client.force_login(district.users["mental_a"])  # sees flagged 王小红, not her brother
    page = client.get(f"/students/{district.students['a2_sibling'].pk}/").content.decode()
    assert "王小明" not in page and "同家庭另有 1 个孩子" in page
    assert "三年级(2)班</a>" not in page  # no breadcrumb to a class page they cannot open
    client.force_login(district.users["principal_a"])
    page = client.get(f"/classes/{district.class_a1.pk}/").content.decode()
    assert "王小红（三年级(2)班）" in page


def test_family_class_filter_reveals_no_hidden_children(district, client):
    """B5: asking for families of a class you cannot see answers nothing."""
    client.force_login(district.users["mental_a"])
    families = client.get(f"/api/v1/families?class={district.class_a2.pk}").json()["items"]
    assert [s["name"] for f in families for s in f["students"]] == ["王小红"]
    assert client.get(f"/api/v1/families?class={district.class_a1.pk}").json()["count"] == 1


def test_community_and_street_are_hidden_with_the_address(district, client):
    """B6: community and street narrow a home down: masked with the address."""
    client.force_login(district.users["subject_a1"])
    for url in (f"/classes/{district.class_a1.pk}/",
                f"/students/{district.students['a1_sibling'].pk}/",
                f"/api/v1/families/{district.families['siblings'].pk}"):
        assert "塘桥社区" not in client.get(url).content.decode(), url


def test_api_docs_are_served_from_our_own_static_files(district, client):
    """The interactive docs work on an intranet: no CDN, no inline script."""
    client.force_login(district.users["head_a1"])
    page = client.get("/api/v1/docs").content.decode()
    assert "/static/ninja/swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()
    from jiafang.core.tests.test_security import live_elements

    assert live_elements(page) == []


# --- B8 mass assignment -------------------------------------------------------------------

def test_extra_fields_posted_change_nothing(district, client):
    """B8: school, set_by, student, pk, version posted with a write are ignored."""
    client.force_login(district.users["head_a1"])
    student = district.students["a1_sibling"]
    with scopes_disabled():
        academic = FocusCategory.objects.get(code="academic")
    response = client.post(f"/students/{student.pk}/focus/", {
        "category": academic.pk, "reason": "作业拖拉",
        "school": district.school_b.pk, "school_id": district.school_b.pk,
        "set_by": district.users["principal_a"].pk, "student": district.students["b_focus"].pk,
        "pk": 1, "id": 1, "version": 99, "is_staff": "on", "role": "principal",
    })
    assert response.status_code == 302
    with scopes_disabled():
        flag = FocusFlag.objects.get(category=academic, cleared_at=None)
        assert flag.student_id == student.pk
        assert flag.school_id == district.school_a.pk
        assert flag.set_by_id == district.users["head_a1"].pk
    district.users["head_a1"].refresh_from_db()
    assert not district.users["head_a1"].is_staff


# --- D1 stored XSS ------------------------------------------------------------------------

PAYLOADS = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>',
            'javascript:alert(1)', '<a hx-get="/x" hx-on:click="alert(1)">x</a>']


def test_stored_xss_is_rendered_inert(district, client):
    """D1: payloads in every text field of the roster and a flag reason are escaped."""
    with scopes_disabled():
        student = district.students["a1_focus"]
        payload = " ".join(PAYLOADS)
        Student.objects.filter(pk=student.pk).update(name=payload[:50])
        family = student.family
        family.address = payload[:200]
        family.community = payload[:100]
        family.save()
        Guardian.objects.filter(family=family).update(name=payload[:50], relation="x")
        FocusFlag.objects.filter(student=student).update(reason=payload[:200])
    client.force_login(district.users["head_a1"])
    for url in (f"/classes/{district.class_a1.pk}/", f"/students/{student.pk}/"):
        body = client.get(url).content.decode()
        assert live_elements(body) == [], url
        assert "&lt;script&gt;" in body


def live_elements(html: str) -> list[str]:
    """Elements or attributes a browser would act on: inline scripts, on*/hx-* attributes,
    javascript: URLs, and <img> elements (our templates render none)."""
    from html.parser import HTMLParser

    found: list[str] = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            kind = (dict(attrs).get("type") or "").lower()
            if tag == "script" and not dict(attrs).get("src") and kind != "application/json":
                found.append("inline <script>")
            if tag == "img":
                found.append("<img>")
            for name, value in attrs:
                if name.startswith("on") or name.startswith("hx-"):
                    found.append(f"{tag}[{name}]")
                if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                        "javascript:"):
                    found.append(f"{tag}[{name}=javascript:]")

    Parser().feed(html)
    return found


# --- D2 CSRF and methods ------------------------------------------------------------------

def test_csrf_is_enforced_on_unsafe_methods(district):
    """D2: a POST without the CSRF token is refused and changes nothing."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(district.users["head_a1"])
    student = district.students["a1_sibling"]
    with scopes_disabled():
        before = FocusFlag.objects.count()
    response = client.post(f"/students/{student.pk}/focus/", {"category": 1, "reason": "x"})
    assert response.status_code == 403
    with scopes_disabled():
        assert FocusFlag.objects.count() == before


def test_session_authenticated_api_writes_need_csrf(district):
    """The API with a session cookie checks CSRF on unsafe methods (ninja cookie auth)."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(district.users["head_a1"])
    assert client.post("/api/v1/students", {}).status_code in (401, 403, 405)


def test_no_state_change_by_get(district, client):
    """D2: every write endpoint refuses GET (405) and every page refuses POST where it reads."""
    client.force_login(district.users["head_a1"])
    student = district.students["a1_focus"]
    assert client.get(f"/students/{student.pk}/focus/").status_code == 405
    assert client.get(f"/students/{student.pk}/focus/1/clear/").status_code == 405
    assert client.get("/accounts/settings/tokens/1/revoke/").status_code == 405
    assert client.post(f"/students/{student.pk}/").status_code == 405
    assert client.post(f"/classes/{district.class_a1.pk}/").status_code == 405


# --- D3 open redirects, D4 Host header ----------------------------------------------------

@pytest.mark.parametrize("target", ["//evil.example", "\\\\evil.example", "https:evil.example",
                                    "https://evil.example/", "/\\evil.example"])
def test_login_next_never_leaves_the_site(target, district, client):
    from jiafang.conftest import PASSWORD

    response = client.post(f"/accounts/login/?next={target}",
                           {"username": "head_a1", "password": PASSWORD, "next": target})
    assert response.status_code == 302
    location = response["Location"]
    assert "evil" not in location


@pytest.mark.parametrize("target", ["//evil.example", "https://evil.example/"])
def test_language_switch_never_leaves_the_site(target, client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": target})
    assert "evil" not in response.get("Location", "")


@override_settings(ALLOWED_HOSTS=["jiafang.example.edu.cn"])
def test_bad_host_header_is_refused(client):
    """D4: a request for a host we do not serve gets 400."""
    assert client.get("/accounts/login/", HTTP_HOST="evil.example").status_code == 400


def test_school_rows_do_not_leak_across_bureaus(district, client):
    client.force_login(district.users["other_officer"])
    names = [s["name"] for s in client.get("/api/v1/schools").json()["items"]]
    with scopes_disabled():
        assert names == [School.objects.get(code="C001").name]
