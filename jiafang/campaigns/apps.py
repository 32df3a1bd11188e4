from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "jiafang.campaigns"
    label = "campaigns"
