from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "jiafang.demo"
    label = "demo"
