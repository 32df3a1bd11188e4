from django.apps import AppConfig


class TaskmapConfig(AppConfig):
    name = "jiafang.taskmap"
    label = "taskmap"
