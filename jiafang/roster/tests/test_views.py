"""The browser flow: upload → preview → confirm → result, and who may use it."""

import io
import os
import tempfile

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scopes_disabled

from jiafang.accounts.models import User
from jiafang.roster import parsing
from jiafang.roster.models import RosterUpload
from jiafang.roster.services import roster_import
from jiafang.roster.tests.conftest import row_counts, xlsx
from jiafang.roster.tests.test_staff import good_file as staff_good_file
from jiafang.roster.tests.test_students import realistic_xlsx
from jiafang.schools.models import Student

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _file(data, name="名册.xlsx"):
    return SimpleUploadedFile(name, data, content_type=XLSX)


def _bad_xlsx():
    return xlsx([["学号", "姓名", "班级", "联系电话"],
                 ["2026201", "甲", "三(1)班", "13500000001"],
                 ["2026201", None, "三(1)班", "12345"]])


def test_coordinator_uploads_previews_and_confirms_once(district, login):
    client = login(district.users["coordinator_a"])
    school = district.school_a
    page = client.get(reverse("roster:upload", args=[school.pk]))
    assert page.status_code == 200
    assert reverse("roster:template", args=[school.pk, "students"]) in page.content.decode()

    before = row_counts()
    response = client.post(reverse("roster:upload", args=[school.pk]),
                           {"kind": "students", "file": _file(realistic_xlsx())})
    assert response.status_code == 302
    with scopes_disabled():
        upload = RosterUpload.objects.get()
    assert response.url == reverse("roster:preview", args=[school.pk, upload.pk])
    assert upload.status == "pending" and upload.uploaded_by == district.users["coordinator_a"]

    page = client.get(response.url).content.decode()
    assert "确认导入" in page
    assert "身份证号" in page and "最少必要" in page         # the ID column warning
    assert "缺少家长电话" in page                             # a row warning
    assert "名册中没有这些在读学生" in page and "王小明" in page
    assert "张三" in page and "一年级(1)班" in page           # rows as they will be stored
    assert row_counts() == {**before, "RosterUpload": before["RosterUpload"] + 1}

    confirm = reverse("roster:confirm", args=[school.pk, upload.pk])
    first = client.post(confirm)
    assert first.status_code == 302
    assert first.url == reverse("roster:result", args=[school.pk, upload.pk])
    after = row_counts()
    assert after["Student"] == before["Student"] + 10
    second = client.post(confirm)  # a double click
    assert second.status_code == 302
    assert row_counts() == after
    with scopes_disabled():
        upload.refresh_from_db()
    assert upload.status == "imported" and bytes(upload.content) == b""
    assert upload.summary["counts"]["students_new"] == 10

    result = client.get(first.url).content.decode()
    assert "已经导入过" in result  # the double click was told, not imported
    assert "新增学生" in result and reverse("schools:detail", args=[school.pk]) in result


def test_a_file_with_errors_shows_every_error_and_no_confirm_button(district, login):
    client = login(district.users["principal_a"])
    before = row_counts()
    response = client.post(reverse("roster:upload", args=[district.school_a.pk]),
                           {"kind": "students", "file": _file(_bad_xlsx())})
    assert response.status_code == 200
    page = response.content.decode()
    assert "未导入任何数据，请修改后重新上传" in page
    assert "确认导入" not in page
    assert "学号“2026201”重复：第 2、3 行" in page
    assert "缺少姓名" in page and "电话号码不正确" in page
    assert row_counts() == before  # not even the upload is kept


def test_old_xls_is_refused_with_advice(district, login):
    client = login(district.users["coordinator_a"])
    response = client.post(reverse("roster:upload", args=[district.school_a.pk]), {
        "kind": "students",
        "file": SimpleUploadedFile("名册.xls", parsing.OLE_MAGIC + b"\0" * 512)})
    page = response.content.decode()
    assert "另存为" in page and ".xlsx" in page and "确认导入" not in page


def test_staff_roster_through_the_browser(district, login):
    client = login(district.users["coordinator_a"])
    school = district.school_a
    assert client.get(reverse("roster:upload_staff", args=[school.pk])).status_code == 200
    response = client.post(reverse("roster:upload_staff", args=[school.pk]),
                           {"kind": "staff", "file": _file(staff_good_file(), "教职工.xlsx")})
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "新账号需由管理员设置初始密码" in page and "钱老师" in page
    with scopes_disabled():
        upload = RosterUpload.objects.get()
    client.post(reverse("roster:confirm", args=[school.pk, upload.pk]))
    assert User.objects.filter(phone="13911110001", full_name="钱老师").exists()


def test_discard_forgets_the_file(district, login):
    client = login(district.users["coordinator_a"])
    school = district.school_a
    client.post(reverse("roster:upload", args=[school.pk]),
                {"kind": "students", "file": _file(realistic_xlsx())})
    with scopes_disabled():
        upload = RosterUpload.objects.get()
    before = row_counts()
    response = client.post(reverse("roster:discard", args=[school.pk, upload.pk]))
    assert response.status_code == 302
    with scopes_disabled():
        upload.refresh_from_db()
    assert upload.status == "discarded" and bytes(upload.content) == b""
    client.post(reverse("roster:confirm", args=[school.pk, upload.pk]))
    assert row_counts() == before


def test_template_downloads_and_round_trips(district, login, in_school):
    client = login(district.users["coordinator_a"])
    school = district.school_a
    response = client.get(reverse("roster:template", args=[school.pk, "students"]))
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    assert response["Content-Disposition"].startswith("attachment;")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    sheet.append(["2026901", "模板生", "女", "2019-09-01", "一年级", "3班", "模板家长", "母亲",
                  "13100000001"])
    out = io.BytesIO()
    book.save(out)
    with in_school(school):
        preview = roster_import(school=school, file_name="模板.xlsx", data=out.getvalue(),
                                by=None)
    assert preview.header_row == 2 and preview.counts["students_new"] == 1
    staff = client.get(reverse("roster:template", args=[school.pk, "staff"]))
    assert staff.status_code == 200
    assert openpyxl.load_workbook(io.BytesIO(staff.content)).worksheets[0]["A2"].value == "姓名"
    assert client.get(reverse("roster:template", args=[school.pk, "other"])).status_code == 404


def test_oversized_upload_refused_without_temporary_files(district, login, settings):
    settings.ROSTER_MAX_UPLOAD_BYTES = 50_000
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.FILE_UPLOAD_TEMP_DIR = tempfile.mkdtemp(prefix="roster-test-")
    client = login(district.users["coordinator_a"])
    response = client.post(reverse("roster:upload", args=[district.school_a.pk]),
                           {"kind": "students", "file": _file(b"x" * 60_000)})
    assert response.status_code == 413
    assert "文件超过" in response.content.decode()
    assert os.listdir(settings.FILE_UPLOAD_TEMP_DIR) == []
    os.rmdir(settings.FILE_UPLOAD_TEMP_DIR)


def test_a_big_upload_stays_in_memory(district, login, settings):
    """Over FILE_UPLOAD_MAX_MEMORY_SIZE Django would spool to a temporary file; we never do."""
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1000
    settings.FILE_UPLOAD_TEMP_DIR = tempfile.mkdtemp(prefix="roster-test-")
    client = login(district.users["coordinator_a"])
    response = client.post(reverse("roster:upload", args=[district.school_a.pk]),
                           {"kind": "students", "file": _file(realistic_xlsx())})
    assert response.status_code == 302
    assert os.listdir(settings.FILE_UPLOAD_TEMP_DIR) == []
    os.rmdir(settings.FILE_UPLOAD_TEMP_DIR)


PERSONAS_WITHOUT_ROSTER = ["head_a1", "subject_a1", "mental_a", "safety_a", "principal_b",
                           "coordinator_b", "bureau_officer", "city_officer", "no_role"]


@pytest.fixture
def pending_upload(district, login):
    client = login(district.users["coordinator_a"])
    client.post(reverse("roster:upload", args=[district.school_a.pk]),
                {"kind": "students", "file": _file(realistic_xlsx())})
    client.logout()
    with scopes_disabled():
        return RosterUpload.objects.get()


@pytest.mark.parametrize("persona", PERSONAS_WITHOUT_ROSTER)
def test_everyone_else_gets_404(district, login, pending_upload, persona):
    client = login(district.users[persona])
    a = district.school_a.pk
    u = pending_upload.pk
    before = row_counts()
    for method, url in [
        ("get", reverse("roster:upload", args=[a])),
        ("get", reverse("roster:upload_staff", args=[a])),
        ("get", reverse("roster:template", args=[a, "students"])),
        ("get", reverse("roster:preview", args=[a, u])),
        ("get", reverse("roster:result", args=[a, u])),
        ("post", reverse("roster:confirm", args=[a, u])),
        ("post", reverse("roster:discard", args=[a, u])),
    ]:
        assert getattr(client, method)(url).status_code == 404, (persona, url)
    response = client.post(reverse("roster:upload", args=[a]),
                           {"kind": "students", "file": _file(realistic_xlsx())})
    assert response.status_code == 404
    assert row_counts() == before
    with scopes_disabled():
        assert Student.objects.filter(student_number="2026001").count() == 0


def test_a_school_b_upload_is_not_reachable_through_school_a(district, login, pending_upload):
    """coordinator_b manages school B: school A's upload id under B's URL is simply missing."""
    client = login(district.users["coordinator_b"])
    b = district.school_b.pk
    assert client.get(reverse("roster:preview", args=[b, pending_upload.pk])).status_code == 404
    assert client.post(reverse("roster:confirm", args=[b, pending_upload.pk])).status_code == 404
    assert client.get(reverse("roster:upload", args=[b])).status_code == 200


def test_anonymous_is_sent_to_login(client, district):
    response = client.get(reverse("roster:upload", args=[district.school_a.pk]))
    assert response.status_code == 302 and reverse("accounts:login") in response.url


def test_wrong_methods(district, login, pending_upload):
    client = login(district.users["coordinator_a"])
    a, u = district.school_a.pk, pending_upload.pk
    assert client.get(reverse("roster:confirm", args=[a, u])).status_code == 405
    assert client.get(reverse("roster:discard", args=[a, u])).status_code == 405
    assert client.put(reverse("roster:upload", args=[a])).status_code == 405
    assert client.post(reverse("roster:template", args=[a, "students"])).status_code == 405


def test_upload_needs_the_csrf_token(district):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(district.users["coordinator_a"])
    response = client.post(reverse("roster:upload", args=[district.school_a.pk]),
                           {"kind": "students", "file": _file(realistic_xlsx())})
    assert response.status_code == 403
    assert row_counts()["RosterUpload"] == 0


def test_expired_uploads_are_emptied_not_imported(district, login, pending_upload):
    import datetime as dt

    from django.core.management import call_command
    from django.utils import timezone

    with scopes_disabled():
        RosterUpload.objects.filter(pk=pending_upload.pk).update(
            created_at=timezone.now() - dt.timedelta(hours=25))
    client = login(district.users["coordinator_a"])
    before = row_counts()
    a, u = district.school_a.pk, pending_upload.pk
    response = client.post(reverse("roster:confirm", args=[a, u]))
    assert response.status_code == 302 and response.url == reverse("roster:upload", args=[a])
    assert row_counts() == before
    with scopes_disabled():
        pending_upload.refresh_from_db()
    assert pending_upload.status == "discarded" and bytes(pending_upload.content) == b""

    with scopes_disabled():
        stale = RosterUpload.objects.create(
            school=district.school_a, kind="students", file_name="old.xlsx", sha256="0" * 64,
            content=b"personal data")
        RosterUpload.objects.filter(pk=stale.pk).update(
            created_at=timezone.now() - dt.timedelta(days=2))
    call_command("purge_roster_uploads", stdout=io.StringIO())
    with scopes_disabled():
        stale.refresh_from_db()
    assert stale.status == "discarded" and bytes(stale.content) == b""


def test_out_of_scope_looks_exactly_like_missing(district, login, pending_upload):
    """B4: school A's roster pages, asked for by school B's principal, answer like a missing id."""
    client = login(district.users["principal_b"])
    a, u, missing = district.school_a.pk, pending_upload.pk, 987654
    for url, missing_url in [
        (reverse("roster:upload", args=[a]), reverse("roster:upload", args=[missing])),
        (reverse("roster:preview", args=[a, u]), reverse("roster:preview", args=[a, missing])),
        (reverse("roster:template", args=[a, "staff"]),
         reverse("roster:template", args=[missing, "staff"])),
    ]:
        response, absent = client.get(url), client.get(missing_url)
        assert response.status_code == absent.status_code == 404
        assert response.content == absent.content


def test_coordinator_cannot_see_or_take_over_another_schools_account(district, login):
    """B4/B5 through the browser: coordinator_a types principal_b's phone into school A's staff
    roster: an error on the row, principal_b is never named, nothing is stored or granted."""
    client = login(district.users["coordinator_a"])
    principal_b = district.users["principal_b"]
    data = xlsx([["姓名", "手机号", "职务", "任教班级"],
                 ["钱老师", principal_b.phone, "班主任", "三(1)班"]])
    before = row_counts()
    response = client.post(reverse("roster:upload_staff", args=[district.school_a.pk]),
                           {"kind": "staff", "file": _file(data, "教职工.xlsx")})
    assert response.status_code == 200
    page = response.content.decode()
    assert "该手机号已被本校以外的账号使用" in page and "确认导入" not in page
    assert "principal_b" not in page
    assert row_counts() == before
    with scopes_disabled():
        assert not principal_b.roles.filter(school=district.school_a).exists()


def test_a_concurrent_write_during_confirm_is_a_409_and_keeps_the_upload(district, login,
                                                                         pending_upload,
                                                                         monkeypatch):
    """E5/G3: an IntegrityError from a race (the same phone or focus flag written by someone else
    at the same moment) rolls everything back and leaves the upload to confirm again."""
    from django.db import IntegrityError

    from jiafang.roster import services

    real_import = services.IMPORTS[RosterUpload.Kind.STUDENTS]

    def racing_import(**kwargs):
        real_import(**kwargs)  # everything written …
        raise IntegrityError("UNIQUE constraint failed")  # … then the other writer wins

    monkeypatch.setitem(services.IMPORTS, RosterUpload.Kind.STUDENTS, racing_import)
    client = login(district.users["coordinator_a"])
    confirm = reverse("roster:confirm", args=[district.school_a.pk, pending_upload.pk])
    before = row_counts()
    response = client.post(confirm)
    assert response.status_code == 409
    page = response.content.decode()
    assert "数据刚被其他人修改，请重新确认导入" in page and "确认导入" in page
    assert row_counts() == before
    with scopes_disabled():
        pending_upload.refresh_from_db()
    assert pending_upload.status == "pending" and bytes(pending_upload.content)

    monkeypatch.undo()
    assert client.post(confirm).status_code == 302
    with scopes_disabled():
        pending_upload.refresh_from_db()
    assert pending_upload.status == "imported"
    assert row_counts()["Student"] == before["Student"] + 10


def test_one_file_per_upload(district, login):
    """D6: a second file in the same request is refused, not buffered."""
    client = login(district.users["coordinator_a"])
    response = client.post(reverse("roster:upload", args=[district.school_a.pk]), {
        "kind": "students",
        "file": [_file(realistic_xlsx()), _file(realistic_xlsx(), "第二个.xlsx")]})
    assert response.status_code == 400
    assert "一次只能上传一个名册文件" in response.content.decode()
    assert row_counts()["RosterUpload"] == 0


def test_the_upload_limit_counts_every_file_of_the_request():
    from django.conf import settings
    from django.core.files.uploadhandler import StopUpload

    from jiafang.roster.forms import InMemoryRosterUploadHandler

    handler = InMemoryRosterUploadHandler()
    handler.new_file("file", "a.xlsx", XLSX, None)
    handler.receive_data_chunk(b"x" * settings.ROSTER_MAX_UPLOAD_BYTES, 0)
    handler.file_complete(settings.ROSTER_MAX_UPLOAD_BYTES)
    with pytest.raises(StopUpload):
        handler.new_file("file", "b.xlsx", XLSX, None)
    assert handler.too_many and not handler.too_big


@pytest.mark.parametrize("persona", ["head_a1", "principal_b", "no_role"])
def test_an_upload_to_a_school_not_yours_is_refused_before_the_body_is_read(district, persona,
                                                                           monkeypatch):
    """D6: the 404 comes before the CSRF check parses (and buffers) the multipart body."""
    from django.conf import settings
    from django.http.multipartparser import MultiPartParser
    from django.middleware.csrf import _get_new_csrf_string
    from django.test import Client

    parsed = []  # files read out of each multipart body
    real_parse = MultiPartParser.parse

    def spying_parse(self):
        post, files = real_parse(self)
        parsed.append(len(files))
        return post, files

    monkeypatch.setattr(MultiPartParser, "parse", spying_parse)

    def post_as(user):
        client = Client(enforce_csrf_checks=True)  # the real CSRF check, which reads the body
        client.force_login(user)
        token = _get_new_csrf_string()
        client.cookies[settings.CSRF_COOKIE_NAME] = token
        return client.post(reverse("roster:upload", args=[district.school_a.pk]), {
            "kind": "students", "file": _file(realistic_xlsx()), "csrfmiddlewaretoken": token})

    assert post_as(district.users[persona]).status_code == 404
    assert sum(parsed) == 0
    assert post_as(district.users["coordinator_a"]).status_code == 302  # a valid token …
    assert parsed[-1] == 1  # … and the spy sees the coordinator's file read


def test_an_expired_upload_is_shown_as_expired_and_a_get_writes_nothing(district, login,
                                                                        pending_upload):
    """D2: looking at an expired upload does not discard it (the purge does)."""
    import datetime as dt

    from django.utils import timezone

    with scopes_disabled():
        RosterUpload.objects.filter(pk=pending_upload.pk).update(
            created_at=timezone.now() - dt.timedelta(hours=25))
    client = login(district.users["coordinator_a"])
    a, u = district.school_a.pk, pending_upload.pk
    for name in ("roster:preview", "roster:result"):
        response = client.get(reverse(name, args=[a, u]))
        assert response.status_code == 200, name
        page = response.content.decode()
        assert "这次上传已超过 24 小时未确认" in page and "确认导入" not in page
    with scopes_disabled():
        pending_upload.refresh_from_db()
    assert pending_upload.status == "pending" and bytes(pending_upload.content)


def test_the_lasting_record_keeps_figures_not_names_or_phones(district, login):
    """F8/F9: right after the import the result page lists the absent students and the warnings;
    a day later the purge leaves only the figures on the RosterUpload."""
    import datetime as dt
    import json
    import re

    from django.core.management import call_command
    from django.utils import timezone

    client = login(district.users["coordinator_a"])
    a = district.school_a.pk
    data = xlsx([["学号", "姓名", "班级", "联系电话"],
                 ["2026301", "甲同学", "三(1)班", "13911112222/13911113333"]])
    client.post(reverse("roster:upload", args=[a]), {"kind": "students", "file": _file(data)})
    with scopes_disabled():
        upload = RosterUpload.objects.get()
    client.post(reverse("roster:confirm", args=[a, upload.pk]))
    result_url = reverse("roster:result", args=[a, upload.pk])

    def stored_text():
        with scopes_disabled():
            upload.refresh_from_db()
        return json.dumps(upload.summary, ensure_ascii=False)

    assert "王小明" in stored_text() and "13911112222" in stored_text()
    page = client.get(result_url).content.decode()
    assert "王小明" in page and "13911112222" in page
    call_command("purge_roster_uploads", stdout=io.StringIO())
    assert "王小明" in stored_text()  # within the day: kept for the result page

    with scopes_disabled():
        RosterUpload.objects.filter(pk=upload.pk).update(
            finished_at=timezone.now() - dt.timedelta(hours=25))
    call_command("purge_roster_uploads", stdout=io.StringIO())
    text = stored_text()
    for personal in ("王小明", "王小红", "李思", "赵一", "A0001", "甲同学"):
        assert personal not in text
    assert not re.search(r"1[3-9]\d{9}", text)
    assert upload.summary["counts"]["students_new"] == 1
    assert upload.summary["counts"]["absent"] == 4
    page = client.get(result_url).content.decode()
    assert "王小明" not in page and "13911112222" not in page
    assert "新增学生" in page and "只保留统计数字" in page
