from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "jiafang.exports"
    label = "exports"
