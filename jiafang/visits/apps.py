from django.apps import AppConfig


class VisitsConfig(AppConfig):
    name = "jiafang.visits"
    label = "visits"
