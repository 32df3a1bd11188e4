"""seed_demo: refused in production; a small demo has every role, stage, category and sibling
share; the same seed gives the same data; --reset and --delete remove what it made."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.test import override_settings
from django.urls import reverse
from django_scopes import scopes_disabled

from jiafang.accounts.models import Role, User
from jiafang.demo.generator import DEMO_EMAIL_DOMAIN, DEMO_PASSWORD, fixed_usernames
from jiafang.demo.names import chinese_number
from jiafang.schools.models import (
    Bureau,
    Family,
    FocusCategory,
    FocusFlag,
    Guardian,
    School,
    SchoolClass,
    Student,
)

pytestmark = pytest.mark.django_db
SMALL = ["--students", "300", "--schools", "3"]
demo_on = override_settings(DEMO_MODE=True, DEBUG=False)


def seed(*args: str) -> str:
    out = StringIO()
    with demo_on:
        call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def student_names() -> list[str]:
    with scopes_disabled():
        return list(Student.objects.order_by("school__code", "student_number")
                    .values_list("name", flat=True))


@override_settings(DEBUG=False, DEMO_MODE=False)
def test_refused_under_production_settings():
    with pytest.raises(CommandError, match="production settings"):
        call_command("seed_demo", *SMALL, stdout=StringIO())
    with pytest.raises(CommandError, match="production settings"):
        call_command("seed_demo", "--delete", stdout=StringIO())
    with scopes_disabled():
        assert not School.objects.exists()
    assert not User.objects.exists()


def test_allowed_with_debug_alone():
    out = StringIO()
    with override_settings(DEBUG=True, DEMO_MODE=False):
        call_command("seed_demo", *SMALL, stdout=out)
    assert "head1" in out.getvalue()


def test_every_role_has_a_login_and_the_table_is_printed():
    output = seed(*SMALL)
    expected = {
        "bureau": {Role.Kind.BUREAU_OFFICER}, "city": {Role.Kind.BUREAU_OFFICER},
        **{f"{name}{i}": {kind} for i in (1, 2, 3) for name, kind in (
            ("principal", Role.Kind.PRINCIPAL), ("coordinator", Role.Kind.COORDINATOR),
            ("head", Role.Kind.HEAD_TEACHER), ("teacher", Role.Kind.SUBJECT_TEACHER),
            ("mental", Role.Kind.MENTAL_HEALTH), ("safety", Role.Kind.SAFETY_OFFICER))},
    }
    assert set(expected) == set(fixed_usernames())
    users = {u.username: u for u in User.objects.filter(username__in=expected)}
    assert set(users) == set(expected)
    for username, kinds in expected.items():
        assert set(Role.objects.filter(user=users[username]).values_list("kind", flat=True)) == kinds
        assert username in output
        assert users[username].phone in output
    assert users["head1"].check_password(DEMO_PASSWORD)
    assert DEMO_PASSWORD in output and len(DEMO_PASSWORD) >= 12
    # Every class has one head teacher; subject teachers teach 2-4 classes (fewer only if the
    # school has fewer classes for that subject); all demo phones are synthetic 199… numbers.
    with scopes_disabled():
        head_counts = Role.objects.filter(kind=Role.Kind.HEAD_TEACHER).values("school_class") \
            .annotate(n=Count("pk"))
        assert len(head_counts) == SchoolClass.objects.count()
        assert all(row["n"] == 1 for row in head_counts)
        head1 = Role.objects.get(user=users["head1"])
        assert (head1.school.code, head1.school_class.grade, head1.school_class.number) == \
               ("DEMO-0001", 3, 1)
        teacher1 = Role.objects.filter(user=users["teacher1"])
        assert head1.school_class_id in {r.school_class_id for r in teacher1}
        assert {r.subject for r in teacher1} == {"数学"}
        per_teacher = Role.objects.filter(kind=Role.Kind.SUBJECT_TEACHER).values("user") \
            .annotate(n=Count("pk")).values_list("n", flat=True)
        assert max(per_teacher) <= 4 and sum(1 for n in per_teacher if n >= 2) > 0.8 * len(
            per_teacher)
        phones = list(User.objects.values_list("phone", flat=True))
        assert len(phones) == len(set(phones))
        assert all(p.startswith("1990") and len(p) == 11 for p in phones)
        assert all(p.startswith("1991") and len(p) == 11
                   for p in Guardian.objects.values_list("phone", flat=True))
    assert not User.objects.exclude(email__endswith=f"@{DEMO_EMAIL_DOMAIN}").exists()


def test_three_stages_with_their_grades_and_realistic_classes():
    seed(*SMALL)
    with scopes_disabled():
        schools = list(School.objects.order_by("code"))
        assert [s.stage for s in schools] == ["primary", "junior", "nine_year"]
        assert schools[0].bureau.name == "常州经开区社会事业局"
        assert schools[0].bureau.parent.name == "常州市教育局"
        for school in schools:
            grades = set(SchoolClass.objects.filter(school=school).values_list("grade", flat=True))
            assert grades == set(school.grade_range)
        assert Student.objects.filter(status=Student.Status.ENROLLED).count() == 300


def test_default_size_classes_hold_about_43():
    seed("--students", "1500", "--schools", "3")
    with scopes_disabled():
        sizes = list(SchoolClass.objects.annotate(n=Count("students")).values_list("n", flat=True))
    assert 36 <= min(sizes) and max(sizes) <= 50, sizes
    assert 40 <= sum(sizes) / len(sizes) <= 45


def test_siblings_about_8_percent_in_the_same_school():
    seed(*SMALL)
    with scopes_disabled():
        families = Student.objects.values("family").annotate(n=Count("pk"),
                                                             schools=Count("school", distinct=True))
        with_sibling = sum(f["n"] for f in families if f["n"] > 1)
        assert all(f["schools"] == 1 for f in families)
        total = Student.objects.count()
        assert 0.06 <= with_sibling / total <= 0.10, with_sibling / total
        assert not Student.objects.exclude(status=Student.Status.ENROLLED).exists()
        # Every family has one or two guardians, the first at position 0.
        counts = Guardian.objects.values("family").annotate(n=Count("pk"))
        assert {c["n"] for c in counts} <= {1, 2}
        assert len(counts) == Family.objects.count()


def test_every_category_present_with_reason_and_head_teacher():
    seed(*SMALL)
    with scopes_disabled():
        active = FocusFlag.objects.filter(cleared_at=None)
        present = set(active.values_list("category__code", flat=True))
        assert present == set(FocusCategory.objects.values_list("code", flat=True))
        assert not active.filter(reason="").exists()
        heads = dict(Role.objects.filter(kind=Role.Kind.HEAD_TEACHER)
                     .values_list("school_class_id", "user_id"))
        for flag in active.select_related("student"):
            assert flag.set_by_id == heads[flag.student.school_class_id]
            assert flag.school_id == flag.student.school_id
        assert active.values("student").annotate(n=Count("pk")).filter(n__gt=1).exists()
        share = active.values("student").distinct().count() / Student.objects.count()
        assert 0.15 <= share <= 0.40, share


def test_every_row_carries_its_school_and_birth_dates_fit_the_grade():
    seed(*SMALL)
    with scopes_disabled():
        for s in Student.objects.select_related("school_class", "family"):
            assert s.school_id == s.school_class.school_id == s.family.school_id
            # 1 Sep cohort rule (a few held back a year): age on 1 Sep is grade + 5 or + 6.
            year = dt.date.today().year if dt.date.today().month >= 9 else dt.date.today().year - 1
            sept = dt.date(year, 9, 1)
            age = sept.year - s.birth_date.year - ((sept.month, sept.day)
                                                   < (s.birth_date.month, s.birth_date.day))
            assert age - s.school_class.grade in (5, 6), (s.birth_date, s.school_class.grade)
        for g in Guardian.objects.select_related("family"):
            assert g.school_id == g.family.school_id
        assert Family.objects.exclude(latitude=None).count() > 0.3 * Family.objects.count()
        assert not Family.objects.exclude(address__startswith="常州经开区").exists()


def test_same_seed_same_data_other_seed_other_data():
    seed(*SMALL, "--seed", "11")
    first = student_names()
    with scopes_disabled():
        phones = list(Guardian.objects.order_by("phone").values_list("name", "phone"))
    seed(*SMALL, "--seed", "11", "--reset")
    assert student_names() == first
    with scopes_disabled():
        assert list(Guardian.objects.order_by("phone").values_list("name", "phone")) == phones
    seed(*SMALL, "--seed", "12", "--reset")
    assert student_names() != first


def test_second_run_does_nothing_without_reset():
    seed(*SMALL)
    before = student_names()
    output = seed(*SMALL, "--seed", "99")
    assert "already exists" in output
    assert student_names() == before
    assert seed(*SMALL, "--if-empty").startswith("Demo district present")


def test_if_empty_leaves_a_database_with_schools_alone(district):
    output = seed(*SMALL, "--if-empty")
    assert "no demo data added" in output
    assert not Bureau.objects.filter(code__startswith="DEMO-").exists()


def test_delete_removes_what_the_demo_made_and_nothing_else(district):
    seed(*SMALL)
    seed("--delete")
    with scopes_disabled():
        assert not School.objects.filter(code__startswith="DEMO-").exists()
        assert School.objects.count() == 3  # the persona district stays
        assert Student.objects.count() == len(district.students)
    assert not Bureau.objects.filter(code__startswith="DEMO-").exists()
    assert not User.objects.filter(email__endswith=f"@{DEMO_EMAIL_DOMAIN}").exists()
    assert User.objects.filter(username="head_a1").exists()


def test_demo_logins_command_prints_the_table_or_nothing():
    out = StringIO()
    with demo_on:
        call_command("demo_logins", stdout=out)
    assert out.getvalue() == ""
    seed(*SMALL)
    with demo_on:
        call_command("demo_logins", stdout=out)
    assert "head1" in out.getvalue() and DEMO_PASSWORD in out.getvalue()
    quiet, err = StringIO(), StringIO()
    with override_settings(DEBUG=False, DEMO_MODE=False):
        call_command("demo_logins", stdout=quiet, stderr=err)
    assert DEMO_PASSWORD not in quiet.getvalue() and "demo accounts exist" in err.getvalue()


def test_more_schools_get_generated_names_and_cycling_stages():
    seed("--students", "120", "--schools", "5")
    with scopes_disabled():
        schools = list(School.objects.order_by("code").values_list("name", "stage"))
    assert schools[3] == ("常州经开区第四实验小学", "primary")
    assert schools[4] == ("常州经开区第五实验初级中学", "junior")
    assert [chinese_number(n) for n in (1, 10, 11, 20, 105, 200, 1010)] == [
        "一", "十", "十一", "二十", "一百零五", "二百", "一千零一十"]


def test_head_teacher_opens_the_demo_class(client, settings):
    settings.DEMO_MODE = True  # demo logins work only in demo mode
    seed(*SMALL)
    head = User.objects.get(username="head1")
    with scopes_disabled():
        role = Role.objects.get(user=head)
        name = Student.objects.filter(school_class_id=role.school_class_id).first().name
    client.force_login(head)
    response = client.get(reverse("schools:class", args=[role.school_class_id]))
    assert response.status_code == 200
    assert name in response.content.decode()


def test_too_few_students_for_the_schools_is_refused():
    with pytest.raises(CommandError, match="at least 20 per school"):
        seed("--students", "30", "--schools", "3")
    with scopes_disabled():
        assert not School.objects.exists()
