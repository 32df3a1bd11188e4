from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "jiafang.accounts"
    label = "accounts"
    verbose_name = "账号"
