"""python manage.py refresh_figures: recompute every school's headline counts.

The write paths keep them current; this is the safety net for cron after manual data repairs."""

from django.core.management.base import BaseCommand
from django_scopes import scopes_disabled

from jiafang.schools.models import School
from jiafang.schools.services import school_figures_refresh


class Command(BaseCommand):
    help = "Recompute the per-school figures shown on the bureau overview."

    def handle(self, *args, **options):
        with scopes_disabled():
            ids = list(School.objects.values_list("pk", flat=True))
            school_figures_refresh(school_ids=ids)
        self.stdout.write(f"已更新 {len(ids)} 所学校的统计。")
