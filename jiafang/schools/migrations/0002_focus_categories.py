"""Seed the six focus categories of the notice (R4), in its wording, with short aliases."""

from django.db import migrations

CATEGORIES = [
    ("mental_health", "心理健康有困难的学生", "心理", "心理健康有困难、心理健康发展有困难、心理困难、心理健康"),
    ("economic", "家庭经济有困难的学生", "经济困难", "家庭经济有困难、家庭经济困难、家困、贫困、经济"),
    ("academic", "学业发展有困难的学生", "学业困难", "学业发展有困难、学困、学困生、学业"),
    ("left_behind_single_parent", "留守学生及单亲家庭学生", "留守单亲", "留守、单亲、留守儿童、单亲家庭、留守学生、单亲家庭学生"),
    ("migrant", "流动人员随迁子女", "随迁子女", "随迁、流动人员子女、流动人口子女、外来务工子女"),
    ("disability", "身体有残障的学生", "残障", "身体有残障、残疾、身体残障、残疾学生"),
]


def seed(apps, schema_editor):
    FocusCategory = apps.get_model("schools", "FocusCategory")
    for order, (code, name, short, aliases) in enumerate(CATEGORIES, start=1):
        FocusCategory.objects.update_or_create(
            code=code, defaults={"name": name, "short_name": short, "aliases": aliases,
                                 "sort_order": order},
        )


def unseed(apps, schema_editor):
    apps.get_model("schools", "FocusCategory").objects.filter(
        code__in=[c[0] for c in CATEGORIES]).delete()


class Migration(migrations.Migration):
    dependencies = [("schools", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
