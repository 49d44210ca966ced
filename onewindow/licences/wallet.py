"""The holder's licence wallet (issue #6 item 5): reads and writes of a holder's own licences and their
time-limited share links (docs/licences.md, "Wallet").

Who holds what: a resident holds the licences issued to a person whose holder code is their ID number; an
enterprise representative holds those issued to an organisation whose holder code is their enterprise's
unified social credit code (the same identities ``applications`` applies with). Only holders have a wallet:
every staff role is refused (403, audited) and keeps using the issuing department's pages. Another holder's
licence answers 404 exactly like a number that does not exist, so a wallet never tells whether a licence
exists; the refusal is audited.

Share links: 32 random bytes (``secrets.token_urlsafe``), shown to the holder once; only their SHA-256 is
stored and compared in constant time. Opening a link is audited without the token (the share's id), and
the request log names the route, never the path.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from typing import Literal

import structlog
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.db.models import F, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_roles
from onewindow.accounts.roles import Kind, Role
from onewindow.audit.actions import audit_append
from onewindow.core.errors import RuleViolation
from onewindow.licences.models import HolderKind, Licence, LicenceShare, LicenceStatus
from onewindow.licences.selectors import NUMBER_MAX_LENGTH, licence_status_now

logger = structlog.get_logger(__name__)

#: What refusals name as the missing permission (only residents and enterprise representatives hold one).
WALLET_PERMISSION = "licence_wallet"
#: Durations the pages offer (1 hour, 1 day, 7 days, 30 days); the API takes any whole number of hours
#: from 1 to ``SHARE_HOURS_MAX``.
SHARE_HOURS_CHOICES = (1, 24, 168, 720)
SHARE_HOURS_MAX = 720
SHARE_NOTE_MAX_LENGTH = 200
#: Active links per licence: enough for any honest use, and a bound on what a stolen session can spread.
SHARES_ACTIVE_MAX = 20
#: Random bytes in a token (``secrets.token_urlsafe`` makes 43 URL-safe characters of 32 bytes).
TOKEN_BYTES = 32
_TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")

_HOLDER_ROLES = frozenset({Role.RESIDENT, Role.ENTERPRISE_REPRESENTATIVE})


# --- Who holds what ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Holder:
    user: User
    kind: HolderKind
    # "" for an account without an ID number or credit code yet: its wallet is empty.
    code: str


def wallet_holder(user: User | AnonymousUser) -> Holder:
    """The holder ``user`` stands for; residents and enterprise representatives only (403, audited)."""
    if not isinstance(user, User) or not any(grant.role in _HOLDER_ROLES for grant in user_roles(user)):
        raise permission_denied(user, WALLET_PERMISSION, object_type="licence")
    if user.kind == Kind.ENTERPRISE:
        return Holder(user, HolderKind.ENTERPRISE, (user.enterprise_credit_code or "").strip())
    return Holder(user, HolderKind.PERSON, (user.id_number or "").strip())


def _holds(holder: Holder, licence: Licence) -> bool:
    return bool(holder.code) and (licence.holder_kind, licence.holder_code) == (holder.kind, holder.code)


def _not_found(holder: Holder, number: str, *, licence_exists: bool) -> Http404:
    if licence_exists:  # someone else's licence: audited, answered like an unknown number
        audit_append(
            action="licence.wallet_read_denied",
            acting_user=holder.user,
            outcome="denied",
            object_type="licence",
            object_id=number,
            details={},
        )
    return Http404(number)


def licences_for_holder(user: User | AnonymousUser) -> QuerySet[Licence]:
    """The licences ``user`` holds, revoked and expired ones included, newest first (403 for staff)."""
    holder = wallet_holder(user)
    if not holder.code:
        return Licence.objects.none()
    return (
        Licence.objects.filter(holder_kind=holder.kind, holder_code=holder.code)
        .defer("canonical_json", "signature_der")
        .order_by("-issued_on", "-pk")
    )


def licence_for_holder(user: User | AnonymousUser, number: str) -> Licence:
    """One licence of ``user``'s wallet: 403 for staff (audited), 404 for an unknown number and for another
    holder's licence (the latter audited)."""
    holder = wallet_holder(user)
    number = number[:NUMBER_MAX_LENGTH]
    licence = Licence.objects.filter(number=number).first()
    if licence is None or not _holds(holder, licence):
        raise _not_found(holder, number, licence_exists=licence is not None)
    return licence


def _share_active(share: LicenceShare, now: dt.datetime) -> bool:
    return share.revoked_at is None and share.expires_at > now


def shares_active(licence: Licence, *, now: dt.datetime | None = None) -> QuerySet[LicenceShare]:
    """The licence's links that still open, newest first (callers got ``licence`` from
    ``licence_for_holder``)."""
    now = now or timezone.now()
    return LicenceShare.objects.filter(licence=licence, revoked_at__isnull=True, expires_at__gt=now).order_by(
        "-created_at", "-pk"
    )


def share_for_holder(user: User | AnonymousUser, share_id: int) -> LicenceShare:
    """One share link of one of ``user``'s licences: 403 for staff, 404 otherwise (audited if it exists)."""
    holder = wallet_holder(user)
    share = LicenceShare.objects.select_related("licence").filter(pk=share_id).first()
    if share is None or not _holds(holder, share.licence):
        if share is not None:
            audit_append(
                action="licence.wallet_read_denied",
                acting_user=holder.user,
                outcome="denied",
                object_type="licence_share",
                object_id=share.pk,
                details={},
            )
        raise Http404(str(share_id))
    return share


def share_url(token: str) -> str:
    """The absolute address of a share link (what the holder hands over)."""
    from django.conf import settings

    return settings.PUBLIC_BASE_URL + reverse("licences:shared", args=[token])


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii")).hexdigest()


# --- Writes ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShareCreated:
    share: LicenceShare
    # The only time the token exists outside the holder's hands: show it, never store or log it.
    token: str

    @property
    def url(self) -> str:
        return share_url(self.token)


def _holder_require(acting_user: User | AnonymousUser, licence: Licence) -> Holder:
    holder = wallet_holder(acting_user)
    if not _holds(holder, licence):
        raise permission_denied(
            acting_user, WALLET_PERMISSION, object_type="licence", object_id=licence.number
        )
    return holder


def _share_refusal(licence: Licence) -> RuleViolation | None:
    status = licence_status_now(licence)
    if status == LicenceStatus.REVOKED:
        return RuleViolation(
            "licence_revoked",
            "该证照已注销，不能分享。",
            "This licence has been revoked: it cannot be shared.",
            status=409,
        )
    if status == LicenceStatus.EXPIRED:
        return RuleViolation(
            "licence_expired",
            "该证照已过有效期，不能分享。",
            "This licence has expired: it cannot be shared.",
            status=409,
        )
    if licence.signed_at is None or not licence.pdf:
        return RuleViolation(
            "licence_not_signed",
            "该证照签发时未加电子签名，不能分享或下载，请联系颁发机构。",
            "This licence was recorded without an electronic signature: it cannot be shared or "
            "downloaded; ask the issuing authority.",
            status=409,
        )
    return None


def licence_share_create(
    *, acting_user: User, licence: Licence, hours: int, note: str = "", now: dt.datetime | None = None
) -> ShareCreated:
    """Create a link that shows ``licence``'s verification and serves its PDF for ``hours`` hours.

    The holder only (403 audited for anyone else, nothing created). 422 ``share_hours_invalid`` (1 to 720
    hours) and ``share_note_too_long``; 409 ``licence_revoked``, ``licence_expired``, ``licence_not_signed``
    and ``too_many_shares`` (more than 20 active links). Audited as ``licence.share_created`` (the share's
    id, expiry and note; never the token).
    """
    _holder_require(acting_user, licence)
    if isinstance(hours, bool) or not isinstance(hours, int) or not 1 <= hours <= SHARE_HOURS_MAX:
        raise RuleViolation(
            "share_hours_invalid",
            f"有效时长须为 1 至 {SHARE_HOURS_MAX} 小时。",
            f"The link must last from 1 to {SHARE_HOURS_MAX} hours.",
            field="hours",
        )
    note = " ".join(note.split())
    if len(note) > SHARE_NOTE_MAX_LENGTH:
        raise RuleViolation(
            "share_note_too_long",
            f"备注不能超过 {SHARE_NOTE_MAX_LENGTH} 个字。",
            f"The note must be at most {SHARE_NOTE_MAX_LENGTH} characters.",
            field="note",
        )
    now = now or timezone.now()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.atomic():
        # The licence row serialises a holder's concurrent requests: the count below cannot be outrun.
        locked = Licence.objects.select_for_update().get(pk=licence.pk)
        refusal = _share_refusal(locked)
        if refusal is not None:
            raise refusal
        if shares_active(locked, now=now).count() >= SHARES_ACTIVE_MAX:
            raise RuleViolation(
                "too_many_shares",
                f"该证照已有 {SHARES_ACTIVE_MAX} 个有效的分享链接，请先撤销不再需要的链接。",
                f"This licence already has {SHARES_ACTIVE_MAX} active share links: revoke one you no "
                "longer need first.",
                status=409,
            )
        share = LicenceShare.objects.create(
            licence=locked,
            token_hash=_token_hash(token),
            note=note,
            created_by=acting_user,
            created_at=now,
            expires_at=now + dt.timedelta(hours=hours),
        )
        audit_append(
            action="licence.share_created",
            acting_user=acting_user,
            object_type="licence",
            object_id=locked.number,
            details={
                "share_id": share.pk,
                "hours": hours,
                "expires_at": share.expires_at.isoformat(),
                "note": note,
            },
        )
    logger.info("licence_share_created", share_id=share.pk, licence_number=locked.number)
    return ShareCreated(share=share, token=token)


def licence_share_revoke(*, acting_user: User, share: LicenceShare) -> LicenceShare:
    """Stop ``share`` from opening, at once. The holder only (403 audited, nothing changed for anyone
    else); 409 ``share_already_revoked``. Audited as ``licence.share_revoked``."""
    _holder_require(acting_user, share.licence)
    with transaction.atomic():
        locked = LicenceShare.objects.select_for_update().select_related("licence").get(pk=share.pk)
        if locked.revoked_at is not None:
            raise RuleViolation(
                "share_already_revoked",
                "该分享链接已撤销。",
                "This share link is already revoked.",
                status=409,
            )
        locked.revoked_at = timezone.now()
        locked.revoked_by = acting_user
        locked.save(update_fields=["revoked_at", "revoked_by"])
        audit_append(
            action="licence.share_revoked",
            acting_user=acting_user,
            object_type="licence",
            object_id=locked.licence.number,
            details={"share_id": locked.pk, "expires_at": locked.expires_at.isoformat()},
        )
    return locked


class ShareGone(Exception):  # noqa: N818 - a state of the link, answered 410
    """The link existed but no longer opens (expired or revoked): the pages answer 410."""

    def __init__(self, reason: Literal["expired", "revoked", "licence_not_valid"]) -> None:
        super().__init__(reason)
        self.reason = reason


def licence_share_open(*, token: str, what: Literal["page", "pdf"]) -> LicenceShare:
    """Open a share link (anyone with the link): its share and licence, counted and audited as
    ``licence.share_opened`` (the share's id and what was opened; never the token).

    Http404 for a token that never existed; :class:`ShareGone` (audited, outcome ``denied``) once it expired
    or was revoked, and for the PDF of a licence that is no longer valid (the page still shows why).
    """
    if not _TOKEN_PATTERN.fullmatch(token):
        raise Http404("share")
    digest = _token_hash(token)
    share = LicenceShare.objects.select_related("licence").filter(token_hash=digest).first()
    # The lookup is by hash, so its timing says nothing usable about the token; the compare is constant
    # time all the same.
    if share is None or not hmac.compare_digest(share.token_hash, digest):
        raise Http404("share")
    now = timezone.now()
    gone: Literal["expired", "revoked", "licence_not_valid"] | None = None
    if share.revoked_at is not None:
        gone = "revoked"
    elif share.expires_at <= now:
        gone = "expired"
    elif what == "pdf" and licence_status_now(share.licence) != LicenceStatus.VALID:
        gone = "licence_not_valid"
    with transaction.atomic():
        if gone is None:
            LicenceShare.objects.filter(pk=share.pk).update(
                open_count=F("open_count") + 1, last_opened_at=now
            )
        audit_append(
            action="licence.share_opened",
            acting_user=None,
            outcome="denied" if gone else "success",
            object_type="licence",
            object_id=share.licence.number,
            details={"share_id": share.pk, "what": what, **({"refused": gone} if gone else {})},
        )
    if gone is not None:
        raise ShareGone(gone)
    return share
