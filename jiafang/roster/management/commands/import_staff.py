"""python manage.py import_staff --school CODE FILE [--dry-run]: a staff roster, all or nothing."""

from jiafang.roster.management.commands._base import RosterCommand


class Command(RosterCommand):
    help = "导入教职工名册（.xlsx/.csv）：账号按手机号识别，角色只增加不删除。有错误时不导入。"
    kind = "staff"
