from django.apps import AppConfig


class RosterConfig(AppConfig):
    name = "jiafang.roster"
    label = "roster"
