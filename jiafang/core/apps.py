from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "jiafang.core"
    label = "core"
