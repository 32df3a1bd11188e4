from django.apps import AppConfig


class TimetableConfig(AppConfig):
    name = "jiafang.timetable"
    label = "timetable"
