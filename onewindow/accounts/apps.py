from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "onewindow.accounts"
    label = "accounts"
    verbose_name = "Identity and roles"

    def ready(self) -> None:
        # Authentication events (login, logout, failure, lockout) are framework signals; the receivers
        # only write audit records, never business logic.
        from onewindow.accounts import receivers  # noqa: F401
