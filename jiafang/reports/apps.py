from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "jiafang.reports"
    label = "reports"
