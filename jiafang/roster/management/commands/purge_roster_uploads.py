"""Empty pending roster uploads older than the retention (24 h), and strip names and phone numbers
from the results of older imports: run daily from cron/systemd."""

from django.core.management.base import BaseCommand
from django_scopes import scopes_disabled

from jiafang.roster.services import roster_uploads_purge


class Command(BaseCommand):
    help = ("清除超过 24 小时仍未确认的名册上传文件内容，并删除 24 小时前导入结果中的姓名和电话"
            "（个人信息不长期保留）。")

    def handle(self, *args, **options):
        with scopes_disabled():
            count = roster_uploads_purge()
        self.stdout.write(f"已清除 {count} 个过期的待确认上传。")
