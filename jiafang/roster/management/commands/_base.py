"""What `import_roster` and `import_staff` share: read the file, preview or import, report."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.utils.translation import gettext as _
from django_scopes import scope

from jiafang.roster import services
from jiafang.schools.models import School


class RosterCommand(BaseCommand):
    kind = ""  # "students" or "staff"

    def add_arguments(self, parser):
        parser.add_argument("file", help="the roster file (.xlsx or .csv)")
        parser.add_argument("--school", required=True, help="the school's code (学校代码)")
        parser.add_argument("--dry-run", action="store_true",
                            help="check and show what would change, write nothing")

    def handle(self, *args, file, school, dry_run, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(_("找不到文件：%(path)s") % {"path": path})
        if path.stat().st_size > settings.ROSTER_MAX_UPLOAD_BYTES:
            raise CommandError(_("文件超过 %(mb)s MB 上限。")
                               % {"mb": settings.ROSTER_MAX_UPLOAD_BYTES // (1024 * 1024)})
        data = path.read_bytes()
        try:
            # The one unscoped lookup: the command has no user; it enters this school's scope.
            target = School.objects.with_scopes_disabled().get(code=school)
        except School.DoesNotExist:
            raise CommandError(_("找不到学校代码为“%(code)s”的学校。") % {"code": school}) from None
        with scope(school=[target.pk]):
            if dry_run:
                preview = services.PREVIEWS[self.kind](school=target, file_name=path.name,
                                                       data=data)
            else:
                try:
                    preview = services.IMPORTS[self.kind](school=target, file_name=path.name,
                                                          data=data, by=None)
                except services.ImportRefused as refused:
                    preview = refused.preview
                except DatabaseError as problem:
                    raise CommandError(_("导入时数据库出错，未导入任何数据：%(error)s")
                                       % {"error": problem}) from None
        self._report(target, preview, dry_run)

    def _report(self, school: School, preview: services.Preview, dry_run: bool) -> None:
        for message in preview.messages:
            if message.is_error:
                self.stderr.write(_("错误：%(text)s") % {"text": message.as_text()})
            else:
                self.stdout.write(_("提示：%(text)s") % {"text": message.as_text()})
        if not preview.ok:
            raise CommandError(_("%(file)s：有 %(n)s 处错误，未导入任何数据。")
                               % {"file": preview.file_name, "n": len(preview.errors)})
        figures = "，".join(f"{label} {n}" for label, n in preview.figures)
        if preview.new_classes:
            figures += _("，新建班级：%(classes)s") % {"classes": "、".join(preview.new_classes)}
        if dry_run:
            self.stdout.write(_("检查通过（--dry-run，未写入）：%(school)s：%(figures)s")
                              % {"school": school.name, "figures": figures})
        else:
            self.stdout.write(self.style.SUCCESS(_("已导入 %(school)s：%(figures)s")
                                                 % {"school": school.name, "figures": figures}))
