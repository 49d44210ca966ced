from django.apps import AppConfig


class LicencesConfig(AppConfig):
    name = "onewindow.licences"
    label = "licences"
    verbose_name = "Licences (电子证照)"

    def ready(self) -> None:
        # Registers the deployment check of the public address printed into licence QR codes.
        from onewindow.licences import checks  # noqa: F401
