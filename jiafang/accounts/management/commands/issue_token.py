"""python manage.py issue_token USERNAME [--name NAME]: print a new personal access token once."""

from django.core.management.base import BaseCommand, CommandError

from jiafang.accounts.models import User
from jiafang.accounts.services import token_create


class Command(BaseCommand):
    help = "Create a personal API access token for a user and print it (shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("username", help="username or phone number")
        parser.add_argument("--name", default="命令行令牌", help="a name to recognise the token by")

    def handle(self, *args, username, name, **options):
        user = (User.objects.filter(username=username).first()
                or User.objects.filter(phone=username).first())
        if user is None or not user.is_active:
            raise CommandError(f"没有这个有效用户：{username}")
        token, raw = token_create(user=user, name=name)
        self.stderr.write(f"已为 {user.display_name} 创建令牌「{token.name}」。它只显示这一次：")
        self.stdout.write(raw)
