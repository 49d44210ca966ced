"""``manage.py federation …`` (also ``onewindow federation …``): set up and operate the federation with
peers (docs/federation.md, "Trust set-up step by step").

    federation node [--rotate] [--json]          this node's instance, root fingerprints, node key
    federation root                              print this node's root certificate (PEM), to send a peer
    federation peer-add INSTANCE URL --fingerprint F [--root-file PEM] --directions … [--export-topics …]
                                                 [--import-topics …] [--transport https|nats] [--name N]
    federation peer-list [--json]
    federation peer-revoke INSTANCE --reason R
    federation refresh [INSTANCE]                fetch the peers' members and services
    federation grant INSTANCE SERVICE CONSUMER --items A,B --until YYYY-MM-DD
    federation sync [INSTANCE] [--json]          take in (and over NATS also send) events now
    federation replay INSTANCE [--event-id ID …] send acknowledged events to the peer again
    federation purge                             used nonces and old export rows

Run by the operator on the server: the actions run as the system (audited with actor ``system``).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder

from onewindow.core.errors import FieldErrors, RuleViolation
from onewindow.federation import actions
from onewindow.federation.models import Peer, PeerStatus
from onewindow.federation.transport import PeerUnreachable


def _list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


class Command(BaseCommand):
    help = "Federation with other OneWindow nodes / 与其他一窗通办节点的联邦"

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="subcommand", required=True, metavar="SUBCOMMAND")
        node = commands.add_parser("node", help="This node's instance, root fingerprints and node key.")
        node.add_argument("--rotate", action="store_true", help="Issue a new node key (the old one retires).")
        node.add_argument("--algorithm", default="SM2-SM3", choices=list(actions.ALGORITHMS))
        node.add_argument("--json", action="store_true")
        commands.add_parser("root", help="Print this node's root certificate (PEM) to send to a peer.")
        add = commands.add_parser("peer-add", help="Register a peer, pinning its root by fingerprint.")
        add.add_argument("instance")
        add.add_argument("base_url")
        add.add_argument("--fingerprint", required=True, help="SHA-256 or SM3 of the peer's root (hex).")
        add.add_argument("--root-file", default="", help="The peer's root (PEM); else fetched from the peer.")
        add.add_argument("--name", default="")
        add.add_argument(
            "--directions", required=True, help="Comma-separated: " + ",".join(actions.DIRECTIONS)
        )
        add.add_argument("--export-topics", default="", help="Topics sent to the peer (events_out).")
        add.add_argument("--import-topics", default="", help="Topics taken from the peer (events_in).")
        add.add_argument("--transport", default="", choices=["", "https", "nats"])
        add.add_argument("--no-refresh", action="store_true", help="Do not fetch the peer's directory now.")
        listing = commands.add_parser("peer-list", help="Registered peers.")
        listing.add_argument("--json", action="store_true")
        revoke = commands.add_parser("peer-revoke", help="Revoke a peer at once.")
        revoke.add_argument("instance")
        revoke.add_argument("--reason", required=True)
        refresh = commands.add_parser("refresh", help="Fetch the peers' members and services.")
        refresh.add_argument("instance", nargs="?", default="")
        grant = commands.add_parser("grant", help="Grant a peer's consumer data items of a local service.")
        grant.add_argument("instance")
        grant.add_argument("service", help="CN/GOV/{credit code}/{system}/{service}")
        grant.add_argument("consumer", help="CN/GOV/{credit code} or CN/GOV/{credit code}/{system}")
        grant.add_argument("--items", required=True, help="Comma-separated data item names.")
        grant.add_argument("--until", required=True, help="YYYY-MM-DD (the day itself counts).")
        sync = commands.add_parser("sync", help="Take in (and over NATS also send) events now.")
        sync.add_argument("instance", nargs="?", default="")
        sync.add_argument("--json", action="store_true")
        replay = commands.add_parser("replay", help="Send acknowledged events to the peer again.")
        replay.add_argument("instance")
        replay.add_argument("--event-id", action="append", default=None, dest="event_ids")
        commands.add_parser("purge", help="Delete used nonces and export rows acknowledged a week ago.")
        crl = commands.add_parser("crl-refresh", help="Fetch and verify the peers' root CRLs now.")
        crl.add_argument("--peer", default="", help="Only this peer's instance id.")
        crl.add_argument("--json", action="store_true")
        revoke_key = commands.add_parser(
            "node-key-revoke", help="Revoke a node key (its certificate goes on the root's CRL)."
        )
        revoke_key.add_argument("key_id")
        revoke_key.add_argument("--reason", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        handler = getattr(self, "do_" + str(options["subcommand"]).replace("-", "_"))
        try:
            handler(options)
        except RuleViolation as violation:
            raise CommandError(f"{violation.message_zh}\n{violation.message_en}") from None
        except FieldErrors as invalid:
            lines = [f"{error.field}: {error.message_zh} / {error.message_en}" for error in invalid.errors]
            raise CommandError("\n".join(lines)) from None
        except PeerUnreachable as error:
            raise CommandError(f"对端节点不可达 / The peer is unreachable: {error}") from None

    def _json(self, data: Any) -> None:
        self.stdout.write(json.dumps(data, ensure_ascii=False, cls=DjangoJSONEncoder))

    # --- subcommands ----------------------------------------------------------------------------------------

    def do_node(self, options: dict[str, Any]) -> None:
        from onewindow.federation.identity import node_key_active
        from onewindow.federation.selectors import node_meta

        if options["rotate"]:
            actions.node_key_issue(acting_user=None, algorithm=options["algorithm"])
        meta = node_meta()
        if meta is None:
            raise CommandError(
                "本节点未配置 ONEWINDOW_FEDERATION_INSTANCE。\n"
                "This node has no ONEWINDOW_FEDERATION_INSTANCE."
            )
        key = node_key_active()
        data = {
            "instance": meta.instance,
            "root_fingerprint_sha256": meta.root_sha256,
            "root_fingerprint_sm3": meta.root_sm3,
            "node_key_id": key.key_id,
            "node_key_algorithm": key.algorithm,
        }
        if options["json"]:
            self._json(data)
            return
        for name, value in data.items():
            self.stdout.write(f"{name}: {value}")

    def do_root(self, options: dict[str, Any]) -> None:
        from onewindow.federation.selectors import node_meta

        meta = node_meta()
        if meta is None:
            raise CommandError("This node has no ONEWINDOW_FEDERATION_INSTANCE.")
        self.stdout.write(meta.root_certificate_pem.rstrip())

    def do_peer_add(self, options: dict[str, Any]) -> None:
        from onewindow.federation.directory import peer_directory_refresh, peer_meta_fetch

        if options["root_file"]:
            root: str = Path(options["root_file"]).read_text(encoding="ascii")
        else:
            meta = peer_meta_fetch(options["base_url"])
            if meta.instance != options["instance"]:
                raise CommandError(
                    f"对端节点自称 {meta.instance!r}。\n"
                    f"The node at that address says it is {meta.instance!r}."
                )
            root = meta.root_certificate_pem
        peer = actions.peer_register(
            acting_user=None,
            instance=options["instance"],
            name=options["name"],
            base_url=options["base_url"],
            root_certificate=root,
            fingerprint=options["fingerprint"],
            directions=_list(options["directions"]),
            export_topics=_list(options["export_topics"]),
            import_topics=_list(options["import_topics"]),
            events_transport=options["transport"],
        )
        self.stdout.write(f"已登记对端节点 / Peer registered: {peer.instance} (SHA-256 {peer.root_sha256})")
        if peer.requests_out and not options["no_refresh"]:
            count = peer_directory_refresh(peer)
            self.stdout.write(f"成员 / members: {count}")

    def do_peer_list(self, options: dict[str, Any]) -> None:
        rows: list[dict[str, Any]] = [
            {
                "instance": peer.instance,
                "status": peer.status,
                "base_url": peer.base_url,
                "root_sha256": peer.root_sha256,
                "directions": [name for name in actions.DIRECTIONS if getattr(peer, name)],
                "events_transport": peer.events_transport,
                "members": peer.members.count(),
                "last_sync_at": peer.last_sync_at,
                "last_sync_error": peer.last_sync_error,
            }
            for peer in Peer.objects.order_by("instance", "-created_at")
        ]
        if options["json"]:
            self._json(rows)
            return
        for row in rows:
            self.stdout.write(
                f"{row['instance']:<12} {row['status']:<8} {row['base_url']}  {','.join(row['directions'])}"
                f"  members={row['members']}  {row['last_sync_error']}"
            )

    def _peer(self, instance: str) -> Peer:
        peer = Peer.objects.filter(instance=instance).order_by("status", "-created_at").first()
        if peer is None:
            raise CommandError(f"没有该对端节点 / No such peer: {instance}")
        return peer

    def do_peer_revoke(self, options: dict[str, Any]) -> None:
        peer = actions.peer_revoke(
            acting_user=None, peer=self._peer(options["instance"]), reason=options["reason"]
        )
        self.stdout.write(f"已撤销 / Revoked: {peer.instance}")

    def do_refresh(self, options: dict[str, Any]) -> None:
        from onewindow.federation.directory import directories_refresh, peer_directory_refresh

        if options["instance"]:
            count = peer_directory_refresh(self._peer(options["instance"]))
            self.stdout.write(f"{options['instance']}: {count}")
            return
        for instance, outcome in directories_refresh().items():
            self.stdout.write(f"{instance}: {outcome}")

    def do_grant(self, options: dict[str, Any]) -> None:
        from onewindow.exchange import protocol as xp
        from onewindow.exchange.models import Service

        parsed = xp.parse_service_path(options["service"])
        service = (
            Service.objects.select_related("provider__department")
            .filter(
                provider__department__credit_code=parsed[0],
                provider__code=parsed[1],
                code=parsed[2],
                is_active=True,
            )
            .first()
            if parsed
            else None
        )
        if service is None:
            raise CommandError(f"没有该服务 / No such service: {options['service']}")
        peer = Peer.objects.filter(instance=options["instance"], status=PeerStatus.ACTIVE).first()
        if peer is None:
            raise CommandError(f"没有该生效的对端节点 / No active peer: {options['instance']}")
        try:
            until = dt.date.fromisoformat(options["until"])
        except ValueError:
            raise CommandError("--until: YYYY-MM-DD") from None
        grant = actions.peer_grant_create(
            acting_user=None,
            peer=peer,
            service=service,
            consumer=options["consumer"],
            items=_list(options["items"]),
            until=until,
        )
        self.stdout.write(f"已授权 / Granted: #{grant.pk} {grant.consumer} via {peer.instance}")

    def do_sync(self, options: dict[str, Any]) -> None:
        from onewindow.federation.events import peers_sync

        results = peers_sync(options["instance"])
        if options["json"]:
            self._json([result.__dict__ for result in results])
            return
        for result in results:
            self.stdout.write(
                f"{result.peer}: received {result.received}, imported {result.imported}, duplicates "
                f"{result.duplicates}, dropped {result.dropped}, published {result.published}"
                + (f", error {result.error}" if result.error else "")
            )

    def do_replay(self, options: dict[str, Any]) -> None:
        count = actions.export_replay(
            acting_user=None, peer=self._peer(options["instance"]), event_ids=options["event_ids"]
        )
        self.stdout.write(f"重新发送 / To send again: {count}")

    def do_purge(self, options: dict[str, Any]) -> None:
        from onewindow.federation.events import export_purge
        from onewindow.federation.gateway import used_nonces_purge

        self.stdout.write(f"nonces {used_nonces_purge()}, export rows {export_purge()}")

    def do_crl_refresh(self, options: dict[str, Any]) -> None:
        from onewindow.federation.crl import crl_state
        from onewindow.federation.models import PeerCrl

        peers = Peer.objects.filter(status="active").order_by("instance")
        if options["peer"]:
            peers = peers.filter(instance=options["peer"])
            if not peers.exists():
                raise CommandError(f"没有该对端节点 / No such active peer: {options['peer']}")
        rows = []
        for peer in peers:
            row: PeerCrl = actions.peer_crl_refresh(acting_user=None, peer=peer)
            rows.append(
                {
                    "instance": peer.instance,
                    "state": crl_state(row),
                    "crl_number": row.crl_number,
                    "this_update": row.this_update,
                    "next_update": row.next_update,
                    "revoked": len(row.revoked_serials or []),
                    "error": row.last_error,
                }
            )
        if options["json"]:
            self._json(rows)
            return
        for item in rows:
            self.stdout.write(
                f"{item['instance']:<12} {item['state']:<8} CRL #{item['crl_number']}  "
                f"revoked={item['revoked']}  next_update={item['next_update']}  {item['error']}"
            )

    def do_node_key_revoke(self, options: dict[str, Any]) -> None:
        from onewindow.federation.models import NodeKey

        key = NodeKey.objects.filter(key_id=options["key_id"]).first()
        if key is None:
            raise CommandError(f"没有该节点密钥 / No such node key: {options['key_id']}")
        actions.node_key_revoke(acting_user=None, key=key, reason=options["reason"])
        self.stdout.write(f"已吊销 / Revoked: {key.key_id} (certificate {key.certificate_serial})")
