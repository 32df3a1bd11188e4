"""A real district is set up by command, with no default account or password."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django_scopes import scopes_disabled

from jiafang.accounts.models import User
from jiafang.schools.models import School


def run(*args) -> str:
    out = StringIO()
    call_command("setup_district", *args, stdout=out)
    return out.getvalue()


def test_setup_a_district_and_its_officer_sees_it(db):
    run("bureau", "CZ", "常州市教育局")
    run("bureau", "CZJK", "常州经开区社会事业局", "--parent", "CZ")
    assert "九年一贯制" in run("school", "CZJK", "S1", "遥观实验学校", "--stage", "nine_year")
    out = run("officer", "CZ", "city", "--name", "市局", "--phone", "13800000001")
    assert "changepassword city" in out
    user = User.objects.get(username="city")
    assert not user.has_usable_password()
    user.set_password("a long city password")
    user.save()
    client = Client()
    client.post("/accounts/login/", {"username": "13800000001", "password": "a long city password"})
    names = [s["name"] for s in client.get("/api/v1/schools").json()["items"]]
    assert names == ["遥观实验学校"]  # the city officer sees the district's school


def test_setup_refuses_unknown_bureau_and_stage(db):
    with pytest.raises(CommandError, match="没有这个教育局"):
        run("school", "NOPE", "S1", "某小学", "--stage", "primary")
    with pytest.raises(CommandError):
        run("school", "NOPE", "S1", "某小学", "--stage", "kindergarten")
    with scopes_disabled():
        assert School.objects.count() == 0
