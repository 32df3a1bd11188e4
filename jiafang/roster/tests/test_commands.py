"""import_roster / import_staff on the command line: same rules, non-zero exit on any error."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_scopes import scopes_disabled

from jiafang.accounts.models import User
from jiafang.roster.tests.conftest import row_counts, xlsx
from jiafang.roster.tests.test_staff import good_file as staff_good_file
from jiafang.roster.tests.test_students import realistic_xlsx
from jiafang.schools.models import Student


def run(*args):
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_roster_success(district, tmp_path):
    path = tmp_path / "名册.xlsx"
    path.write_bytes(realistic_xlsx())
    out, _err = run("import_roster", "--school", "A001", str(path))
    assert "已导入 测试实验小学" in out and "新增学生 10" in out
    assert "身份证号" in out  # warnings are printed too
    with scopes_disabled():
        assert Student.objects.filter(student_number__startswith="2026").count() == 10


def test_import_roster_dry_run_writes_nothing(district, tmp_path):
    path = tmp_path / "名册.xlsx"
    path.write_bytes(realistic_xlsx())
    before = row_counts()
    out, _err = run("import_roster", "--school", "A001", "--dry-run", str(path))
    assert "检查通过" in out and "新增学生 10" in out
    assert row_counts() == before


def test_import_roster_errors_exit_non_zero_with_the_row_messages(district, tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(xlsx([["学号", "姓名", "班级", "联系电话"],
                           ["2026201", "甲", "三(1)班", "13500000001"],
                           ["2026202", None, "三(1)班", "12345"]]))
    before = row_counts()
    err = StringIO()
    with pytest.raises(CommandError, match="有 2 处错误，未导入任何数据"):
        call_command("import_roster", "--school", "A001", str(path), stdout=StringIO(),
                     stderr=err)
    assert "第 3 行 [姓名] 缺少姓名" in err.getvalue()
    assert "第 3 行 [联系电话] 电话号码不正确" in err.getvalue()
    assert row_counts() == before


def test_unknown_school_and_missing_file(district, tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_bytes(realistic_xlsx())
    with pytest.raises(CommandError, match="找不到学校代码"):
        run("import_roster", "--school", "NOPE", str(path))
    with pytest.raises(CommandError, match="找不到文件"):
        run("import_roster", "--school", "A001", str(tmp_path / "missing.xlsx"))


def test_exit_status_is_non_zero(district, tmp_path):
    from django.core.management import ManagementUtility

    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64)
    with pytest.raises(SystemExit) as exit_info:
        ManagementUtility(["manage.py", "import_roster", "--school", "A001", str(path)]).execute()
    assert exit_info.value.code == 1


def test_import_staff(district, tmp_path):
    path = tmp_path / "staff.xlsx"
    path.write_bytes(staff_good_file())
    out, _err = run("import_staff", "--school", "A001", str(path))
    assert "新建账号 4" in out and "新账号需由管理员设置初始密码" in out
    assert User.objects.filter(phone="13911110001").exists()
    duplicate = tmp_path / "dup.xlsx"
    duplicate.write_bytes(xlsx([["姓名", "手机号", "角色", "任教班级"],
                                ["甲", "13911110021", "班主任", "三(1)班"],
                                ["乙", "13911110022", "班主任", "三(1)班"]]))
    before = row_counts()
    with pytest.raises(CommandError):
        run("import_staff", "--school", "A001", str(duplicate))
    assert row_counts() == before
