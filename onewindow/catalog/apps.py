from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "onewindow.catalog"
    label = "catalog"
    verbose_name = "Government information resource catalog (GB/T 21063)"

    def ready(self) -> None:
        # The resource-code URL converter, used by the pages and the API (register once, before any URLconf).
        # After migrate, the built-in entries follow the code that was just deployed (catalog_sync).
        from django.db.models.signals import post_migrate

        from onewindow.catalog import converters  # noqa: F401
        from onewindow.catalog.sync import sync_after_migrate

        post_migrate.connect(sync_after_migrate, sender=self, dispatch_uid="catalog_sync_after_migrate")
