"""Seed the six focus categories of the notice (R4), in its wording, with short aliases."""

from django.db import migrations

from jiafang.schools.defaults import FOCUS_CATEGORIES, seed_focus_categories


def seed(apps, schema_editor):
    seed_focus_categories(apps.get_model("schools", "FocusCategory"))


def unseed(apps, schema_editor):
    apps.get_model("schools", "FocusCategory").objects.filter(
        code__in=[c[0] for c in FOCUS_CATEGORIES]).delete()


class Migration(migrations.Migration):
    dependencies = [("schools", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
