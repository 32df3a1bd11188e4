from django.apps import AppConfig


class SchoolsConfig(AppConfig):
    name = "jiafang.schools"
    label = "schools"
