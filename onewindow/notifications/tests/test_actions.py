"""Notifications: a row in the account at once; e-mail and SMS only after the transaction commits."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.db import transaction

from onewindow.accounts.tests.factories import UserFactory
from onewindow.notifications.actions import notification_mark_read, notification_send
from onewindow.notifications.models import Notification
from onewindow.notifications.sms import MemorySmsSender

pytestmark = pytest.mark.django_db(transaction=True)

MEMORY_SENDER = "onewindow.notifications.sms.MemorySmsSender"


@pytest.fixture(autouse=True)
def _memory_sms(settings: Any) -> None:
    settings.SMS_SENDER = MEMORY_SENDER
    MemorySmsSender.outbox.clear()


def test_e_mail_and_sms_go_out_after_the_commit() -> None:
    # Given a resident with an e-mail address and a mobile number
    user = UserFactory.create(email="lin@example.cn", mobile="13800138000")
    # When an action notifies them inside its transaction
    with transaction.atomic():
        notification_send(
            user=user, kind="accepted", title="已受理", title_en="Accepted", body="办件已受理。", sms=True
        )
        # Then nothing has left before the commit
        assert mail.outbox == []
        assert MemorySmsSender.outbox == []
    # And after it the account row, one e-mail in both languages and one SMS exist
    assert Notification.objects.filter(user=user, kind="accepted").count() == 1
    assert [message.to for message in mail.outbox] == [["lin@example.cn"]]
    assert mail.outbox[0].subject == "已受理 / Accepted"
    assert MemorySmsSender.outbox == [("13800138000", "已受理")]


def test_nothing_is_sent_when_the_action_rolls_back() -> None:
    user = UserFactory.create(email="lin@example.cn", mobile="13800138000")

    def failing_action() -> None:
        with transaction.atomic():
            notification_send(user=user, kind="accepted", title="已受理", sms=True)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        failing_action()

    assert not Notification.objects.filter(user=user).exists()
    assert mail.outbox == []
    assert MemorySmsSender.outbox == []


def test_no_address_means_account_only() -> None:
    user = UserFactory.create(email="", mobile="")

    notification_send(user=user, kind="accepted", title="已受理", sms=True)

    assert Notification.objects.filter(user=user).count() == 1
    assert mail.outbox == []
    assert MemorySmsSender.outbox == []


def test_a_user_marks_only_their_own_notifications_read() -> None:
    owner = UserFactory.create()
    other = UserFactory.create()
    mine = notification_send(user=owner, kind="k", title="t", email=False)
    theirs = notification_send(user=other, kind="k", title="t", email=False)

    changed = notification_mark_read(acting_user=owner, notification_ids=[mine.pk, theirs.pk])

    assert changed == 1
    assert Notification.objects.get(pk=theirs.pk).read_at is None
    assert Notification.objects.get(pk=mine.pk).read_at is not None
