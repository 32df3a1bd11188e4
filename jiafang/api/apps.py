from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "jiafang.api"
    label = "api"
