"""Staff roster import: accounts by phone, roles through role_grant, all or nothing."""

import pytest
from django.urls import reverse
from django_scopes import scopes_disabled

from jiafang.accounts.models import Role, User
from jiafang.roster.services import ImportRefused, staff_import, staff_preview
from jiafang.roster.tests.conftest import row_counts, xlsx

HEADER = ["序号", "姓名", "手机号", "用户名", "职务", "任教班级", "任教学科"]


def staff_file(*rows):
    return xlsx([["测试实验小学教职工名册"], HEADER, *rows], merged=["A1:G1"])


def good_file():
    return staff_file(
        [1, "钱老师", 13911110001, None, "班主任、任课教师", "三(1)班", "语文"],          # row 3
        [2, "孙老师", "13911110002", "sun", "学科教师", "三(1)班、三(2)班", "数学"],      # row 4
        [3, "测试校长", "15800000002", None, "校长", None, None],                         # row 5
        [4, "周老师", "13911110003", None, "心理教师", "全校", None],                     # row 6
        [5, "吴老师", "13911110004", None, "安全负责人、德育处", None, None],              # row 7
        [6, "钱老师", 13911110001, None, "任课教师", "三(2)班", "语文"],                  # row 8
    )


def roles_of(user):
    return sorted((r.kind, r.school_class.name if r.school_class else "", r.subject)
                  for r in Role.objects.filter(user=user).select_related("school_class"))


def test_staff_roster_creates_accounts_and_roles(district, in_school):
    school = district.school_a
    with in_school(school):
        preview = staff_preview(school=school, file_name="staff.xlsx", data=good_file())
    assert preview.ok, [m.as_text() for m in preview.errors]
    assert preview.counts["accounts_new"] == 4
    assert preview.counts["accounts_existing"] == 1
    assert preview.counts["head_changes"] == 1
    texts = [m.as_text() for m in preview.warnings]
    assert sum("新账号需由管理员设置初始密码" in t for t in texts) == 4
    assert any("三年级(1)班的班主任将由“head_a1”改为“钱老师”" in t for t in texts)

    with in_school(school):
        staff_import(school=school, file_name="staff.xlsx", data=good_file(), by=None)
    with scopes_disabled():
        qian = User.objects.get(phone="13911110001")
        assert qian.full_name == "钱老师" and qian.username == "13911110001"
        assert not qian.has_usable_password()
        assert roles_of(qian) == [("head_teacher", "三年级(1)班", ""),
                                  ("subject_teacher", "三年级(1)班", "语文"),
                                  ("subject_teacher", "三年级(2)班", "语文")]
        sun = User.objects.get(phone="13911110002")
        assert sun.username == "sun"
        assert roles_of(sun) == [("subject_teacher", "三年级(1)班", "数学"),
                                 ("subject_teacher", "三年级(2)班", "数学")]
        assert roles_of(User.objects.get(phone="13911110003")) == [("mental_health", "", "")]
        assert roles_of(User.objects.get(phone="13911110004")) == [("coordinator", "", ""),
                                                                    ("safety_officer", "", "")]
        # The head teacher role moved; the previous head keeps no head role for the class.
        assert not Role.objects.filter(user=district.users["head_a1"],
                                       kind=Role.Kind.HEAD_TEACHER).exists()
        # An existing account is matched by phone and never renamed.
        principal = district.users["principal_a"]
        principal.refresh_from_db()
        assert principal.full_name == "principal_a"
        assert Role.objects.filter(user=principal).count() == 1


def test_new_account_logs_in_by_phone_once_a_password_is_set(district, in_school, client):
    with in_school(district.school_a):
        staff_import(school=district.school_a, file_name="s.xlsx", data=good_file(), by=None)
    with scopes_disabled():
        qian = User.objects.get(phone="13911110001")
    response = client.post(reverse("accounts:login"),
                           {"username": "13911110001", "password": "irrelevant-password-1"})
    assert response.status_code == 200  # no usable password yet: cannot log in
    qian.set_password("a-long-enough-password-2026")
    qian.save()
    response = client.post(reverse("accounts:login"),
                           {"username": "139 1111 0001", "password": "a-long-enough-password-2026"})
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == qian.pk
    assert client.session["_auth_user_backend"] == (
        "jiafang.accounts.backends.PhoneOrUsernameBackend")


def test_staff_reimport_is_idempotent(district, in_school):
    with in_school(district.school_a):
        staff_import(school=district.school_a, file_name="s.xlsx", data=good_file(), by=None)
    before = row_counts()
    with in_school(district.school_a):
        again = staff_import(school=district.school_a, file_name="s.xlsx", data=good_file(),
                             by=None)
    assert row_counts() == before
    assert again.counts["accounts_new"] == again.counts["roles_new"] == 0
    assert again.counts["head_changes"] == 0
    assert not any("新账号" in m.text for m in again.warnings)


def test_two_head_teachers_for_one_class_refused_naming_both_rows(district, in_school):
    data = staff_file(
        [1, "钱老师", "13911110001", None, "班主任", "三(1)班", None],
        [2, "孙老师", "13911110002", None, "学科教师", "三(2)班", "数学"],
        [3, "李老师", "13911110005", None, "班主任", "三年级1班", None],
    )
    before = row_counts()
    with in_school(district.school_a):
        with pytest.raises(ImportRefused) as refused:
            staff_import(school=district.school_a, file_name="s.xlsx", data=data, by=None)
    assert row_counts() == before
    errors = {m.row: m.text for m in refused.value.preview.errors}
    assert set(errors) == {3, 5}
    assert "三年级(1)班的班主任重复：第 3、5 行" in errors[3]


@pytest.mark.parametrize(("row", "expected"), [
    ([1, "钱老师", "0519-88881234", None, "班主任", "三(1)班", None], "11 位手机号"),
    ([1, "钱老师", None, None, "班主任", "三(1)班", None], "缺少手机号"),
    ([1, None, "13911110001", None, "班主任", "三(1)班", None], "缺少姓名"),
    ([1, "钱老师", "13911110001", None, "门卫", None, None], "未知的角色：“门卫”"),
    ([1, "钱老师", "13911110001", None, "班主任", None, None], "班主任须填写任教班级"),
    ([1, "钱老师", "13911110001", None, "学科教师", "七年级(1)班", "数学"], "不在本校学段内"),
    ([1, "钱老师", "13911110001", "head_a1", "学科教师", "三(1)班", "数学"], "已被其他账号使用"),
    ([1, "钱老师", "13911110001", None, None, None, None], "缺少角色"),
])
def test_staff_row_errors(district, in_school, row, expected):
    before = row_counts()
    with in_school(district.school_a):
        with pytest.raises(ImportRefused) as refused:
            staff_import(school=district.school_a, file_name="s.xlsx", data=staff_file(row),
                         by=None)
    assert row_counts() == before
    [error] = refused.value.preview.errors
    assert error.row == 3 and expected in error.text


def test_one_phone_with_two_names_is_an_error(district, in_school):
    data = staff_file([1, "钱老师", "13911110001", None, "班主任", "三(1)班", None],
                      [2, "钱先生", "13911110001", None, "学科教师", "三(2)班", "数学"])
    with in_school(district.school_a):
        preview = staff_preview(school=district.school_a, file_name="s.xlsx", data=data)
    [error] = preview.errors
    assert error.row == 4 and "第 3 行对应另一个姓名“钱老师”" in error.text


def test_a_new_phone_that_is_someone_elses_username_is_refused(district, in_school):
    with scopes_disabled():
        User.objects.create_user(username="13911110001", password=None)
    data = staff_file([1, "钱老师", "13911110001", "qian", "班主任", "三(1)班", None])
    with in_school(district.school_a):
        preview = staff_preview(school=district.school_a, file_name="s.xlsx", data=data)
    [error] = preview.errors
    assert "已被其他账号用作用户名" in error.text


@pytest.mark.parametrize("persona", ["principal_b", "bureau_officer", "no_role"])
def test_a_phone_of_an_account_outside_the_school_is_an_error_naming_no_one(district, in_school,
                                                                            persona):
    """B4/B5: school A's roster neither shows nor takes over another school's (or anyone else's)
    account: no name, username or state in any message, no role granted at school A."""
    other = district.users[persona]
    data = staff_file([1, "钱老师", other.phone, None, "班主任", "三(1)班", None],
                      [2, "孙老师", "13911110002", None, "学科教师", "三(2)班", "数学"])
    before = row_counts()
    with in_school(district.school_a):
        preview = staff_preview(school=district.school_a, file_name="s.xlsx", data=data)
        with pytest.raises(ImportRefused):
            staff_import(school=district.school_a, file_name="s.xlsx", data=data, by=None)
    assert row_counts() == before
    [error] = preview.errors
    assert error.row == 3 and error.column == "手机号"
    assert "该手机号已被本校以外的账号使用" in error.text and "教育局管理员" in error.text
    shown = " ".join(m.as_text() for m in preview.messages) + repr(preview.sample)
    assert persona not in shown and other.display_name not in shown
    with scopes_disabled():
        assert not Role.objects.filter(user=other, school=district.school_a).exists()


def test_an_account_with_a_role_at_the_school_is_still_matched(district, in_school):
    """The principal of school A listed in school A's roster keeps being matched and updated."""
    principal = district.users["principal_a"]
    data = staff_file([1, "测试校长", principal.phone, None, "校长、学科教师", "三(2)班", "数学"])
    with in_school(district.school_a):
        preview = staff_import(school=district.school_a, file_name="s.xlsx", data=data, by=None)
    assert preview.counts["accounts_existing"] == 1 and preview.counts["accounts_new"] == 0
    with scopes_disabled():
        assert ("subject_teacher", "三年级(2)班", "数学") in roles_of(principal)
