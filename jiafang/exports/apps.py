from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "jiafang.exports"
    label = "exports"

    def ready(self) -> None:
        """Load every app's `exporters.py` so their exporters are registered."""
        from django.utils.module_loading import autodiscover_modules

        autodiscover_modules("exporters")
