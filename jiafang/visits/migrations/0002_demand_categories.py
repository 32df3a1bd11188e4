"""Seed the parent-demand categories (R15): 学业辅导, 家庭教育指导, 心理健康, 学校管理, 安全, 其他."""

from django.db import migrations

from jiafang.visits.defaults import DEMAND_CATEGORIES, seed_demand_categories


def seed(apps, schema_editor):
    seed_demand_categories(apps.get_model("visits", "DemandCategory"))


def unseed(apps, schema_editor):
    apps.get_model("visits", "DemandCategory").objects.filter(
        code__in=[c[0] for c in DEMAND_CATEGORIES]).delete()


class Migration(migrations.Migration):
    dependencies = [("visits", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
