from django.apps import AppConfig


class FederationConfig(AppConfig):
    name = "onewindow.federation"
    label = "federation"
    verbose_name = "Federation of OneWindow nodes"

    def ready(self) -> None:
        from onewindow.federation.actions import revoked_node_key_certificates
        from onewindow.seals.actions import crl_source_register

        # Revoked node keys are listed on the root's CRL (docs/federation.md "Revoked certificates").
        crl_source_register(revoked_node_key_certificates)
