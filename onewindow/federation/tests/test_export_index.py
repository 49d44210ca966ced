"""The export scan of the outbox (docs/federation.md, "Events across nodes") is served by the outbox's
``(created_at, id)`` index (migration outbox 0002): a range on ``created_at`` read in index order, not every
event of the exported topics ever written (the outbox keeps published events)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection
from django.utils import timezone

from onewindow.federation.events import export_scan_query
from onewindow.federation.tests.conftest import peer_register
from onewindow.federation.tests.support import FakeNode
from onewindow.outbox.models import OutboxEvent

pytestmark = pytest.mark.django_db


def test_the_export_scan_uses_the_outbox_created_at_index(local_node: str, remote: FakeNode) -> None:
    # given an outbox holding a year of published events of the exported topic, and a peer
    peer = peer_register(remote, directions=["events_out"], export_topics=["entity.*"])
    now = timezone.now()
    OutboxEvent.objects.bulk_create(
        [
            OutboxEvent(
                id=uuid.uuid4(),
                topic="entity.registered" if n % 2 else "person.born",
                key=f"k{n % 50}",
                payload={},
                occurred_at=now - dt.timedelta(hours=n),
                created_at=now - dt.timedelta(hours=n),
                published_at=now,
            )
            for n in range(3000)
        ],
        batch_size=500,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    # when the planner is asked how it reads the events of the last five minutes
    plan = export_scan_query(peer, ["entity.registered"], now - dt.timedelta(minutes=5)).explain()

    # then it reads them through the (created_at, id) index
    assert "outbox_created_idx" in plan, plan
