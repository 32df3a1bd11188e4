"""Set up a real district before the first roster import (no defaults, no demo data).

    python manage.py setup_district bureau CZJK "常州经开区社会事业局" [--parent CZ]
    python manage.py setup_district school CZJK 32041201 "遥观中心小学" --stage primary
    python manage.py setup_district officer CZJK USERNAME --name 张三 --phone 13800000000

Accounts are created without a usable password: set one with `manage.py changepassword USERNAME`.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from jiafang.accounts.models import Role, User
from jiafang.accounts.services import role_grant
from jiafang.schools.models import Bureau, School
from jiafang.schools.services import bureau_create, school_create


class Command(BaseCommand):
    help = "Create or update a bureau, a school, or a bureau officer's account."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True)
        b = sub.add_parser("bureau")
        b.add_argument("code")
        b.add_argument("name")
        b.add_argument("--parent", default="")
        s = sub.add_parser("school")
        s.add_argument("bureau")
        s.add_argument("code")
        s.add_argument("name")
        s.add_argument("--stage", required=True, choices=School.Stage.values)
        o = sub.add_parser("officer")
        o.add_argument("bureau")
        o.add_argument("username")
        o.add_argument("--name", default="")
        o.add_argument("--phone", default=None)

    def handle(self, *args, what, **opts):
        try:
            if what == "bureau":
                bureau = bureau_create(code=opts["code"], name=opts["name"],
                                       parent_code=opts["parent"])
                self.stdout.write(f"教育局：{bureau.code} {bureau.name}")
            elif what == "school":
                school = school_create(bureau_code=opts["bureau"], code=opts["code"],
                                       name=opts["name"], stage=opts["stage"])
                self.stdout.write(f"学校：{school.code} {school.name}（{school.get_stage_display()}）")
            else:
                self._officer(**opts)
        except Bureau.DoesNotExist:
            raise CommandError("没有这个教育局代码。") from None
        except ValidationError as error:
            raise CommandError("；".join(error.messages)) from None

    @transaction.atomic
    def _officer(self, *, bureau, username, name, phone, **_):
        bureau_obj = Bureau.objects.get(code=bureau)
        user, created = User.objects.get_or_create(
            username=username, defaults={"full_name": name, "phone": phone or None})
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
        role_grant(user=user, kind=Role.Kind.BUREAU_OFFICER, bureau=bureau_obj)
        self.stdout.write(f"教育局工作人员：{user.username}（{bureau_obj.name}）")
        if created:
            self.stdout.write(f"请设置初始密码：python manage.py changepassword {user.username}")
