"""python manage.py import_roster --school CODE FILE [--dry-run]: students, all or nothing."""

from jiafang.roster.management.commands._base import RosterCommand


class Command(RosterCommand):
    help = "导入学生名册（.xlsx/.csv）。有任何错误时不导入任何数据，并以非零状态退出。"
    kind = "students"
