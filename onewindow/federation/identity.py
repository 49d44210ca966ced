"""This node's identity in the federation: its instance id (``ONEWINDOW_FEDERATION_INSTANCE``), its platform
root (the seals' CA, which peers pin) and its node signing key (issued on first need, as the exchange's
provider keys are)."""

from __future__ import annotations

from cryptography import x509
from django.conf import settings
from django.db import IntegrityError

from onewindow.crypto.keys import Signer
from onewindow.exchange.keystore import signer_for
from onewindow.federation import protocol
from onewindow.federation.models import NodeKey, NodeKeyStatus


class FederationNotConfigured(Exception):  # noqa: N818 - names the condition
    """``ONEWINDOW_FEDERATION_INSTANCE`` is not set (or not valid): this node federates with nobody."""


def instance_id() -> str:
    value = str(settings.FEDERATION_INSTANCE or "")
    if not protocol.instance_is_valid(value):
        raise FederationNotConfigured(value)
    return value


def own_root() -> x509.Certificate:
    """This node's platform root (created on first need by the seals, as for the first seal)."""
    from onewindow.seals.actions import authority_certificate, authority_current

    return authority_certificate(authority_current())


def node_key_active() -> NodeKey:
    """The node's active signing key for its current instance id; the first one is issued on first need."""
    instance = instance_id()
    key = NodeKey.objects.filter(instance=instance, status=NodeKeyStatus.ACTIVE).first()
    if key is not None:
        return key
    from onewindow.federation.actions import node_key_issue

    try:
        return node_key_issue(acting_user=None)
    except IntegrityError:  # issued meanwhile by a concurrent first call
        return NodeKey.objects.get(instance=instance, status=NodeKeyStatus.ACTIVE)


def node_signer(key: NodeKey) -> Signer:
    return signer_for(key.key_id, key.algorithm, key.private_key_token)
