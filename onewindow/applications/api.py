"""Applications API (/api/v1/applications, /api/v1/reviews). Thin: parse, authorise, call, return.

Refusals come from the actions and selectors: per-field errors answer 422 ``form_invalid`` with ``errors``,
a wrong state 409 with its code, an application the caller may not read 404 (as if it did not exist).
"""

from __future__ import annotations

from typing import Any, Literal, cast

from django.http import FileResponse, HttpRequest
from django.urls import reverse
from ninja import Router, Status

from onewindow.accounts.api_auth import api_auth
from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission
from onewindow.accounts.roles import Permission
from onewindow.accounts.schemas import ErrorOut
from onewindow.applications import actions, selectors
from onewindow.applications.models import Application, Document, ReviewFollowUp
from onewindow.applications.schemas import (
    ApplicationIn,
    ApplicationOut,
    ApplicationSummaryOut,
    FollowUpAnswerIn,
    FollowUpOut,
    FormErrorOut,
    RefuseIn,
    RequestSupplementIn,
    ReviewIn,
    ReviewOut,
    ReviewStatOut,
    SubmittedOut,
    SupplementIn,
    SupplementItemOut,
    SupplementRequestOut,
    WithdrawIn,
)
from onewindow.core.api_errors import ApiError
from onewindow.services.models import Channel

router = Router(tags=["applications"])

MAX_IDEMPOTENCY_KEY = 100

_ERRORS: dict[int, Any] = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: FormErrorOut}


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def document_url(document: Document, tracking_no: str) -> str:
    return reverse(
        "api:application_document", kwargs={"tracking_no": tracking_no, "document_id": document.pk}
    )


def _submitted(application: Application) -> dict[str, Any]:
    receipt = application.documents.filter(kind=Document.Kind.RECEIPT).first()
    return {
        "tracking_no": application.tracking_no,
        "status": application.status,
        "due_date": application.due_date,
        "receipt_url": document_url(receipt, application.tracking_no) if receipt else "",
    }


def _detail(request: HttpRequest, application: Application) -> dict[str, Any]:
    user = _user(request)
    applicant_view = user.pk in {application.applicant_id, application.submitted_by_id}
    return {
        "tracking_no": application.tracking_no,
        "service_code": application.service.code,
        "service_name": application.version.name,
        "status": application.status,
        "channel": application.channel,
        "applicant_name": application.applicant_name,
        "submitted_at": application.submitted_at,
        "accepted_at": application.accepted_at,
        "due_date": application.due_date,
        "statutory_due_date": application.statutory_due_date,
        "timeline": selectors.application_timeline(application, applicant_view=applicant_view),
        "pending_departments": application.pending_department_codes,
        "decision": application.decision,
        "documents": [
            {
                "id": document.pk,
                "kind": document.kind,
                "name": document.name,
                "url": document_url(document, application.tracking_no),
                "content_type": document.content_type,
            }
            for document in selectors.application_documents(application)
        ],
        "row_version": application.row_version,
    }


def _channel(request: HttpRequest, user: User, on_behalf: bool) -> str:
    if on_behalf:
        if user_has_permission(user, Permission.ACCEPT_APPLICATIONS):
            return Channel.WINDOW
        if user_has_permission(user, Permission.APPLY_AS_AGENT):
            return Channel.AGENT
        raise permission_denied(user, Permission.ACCEPT_APPLICATIONS, object_type="application")
    return Channel.API if getattr(request, "api_token", None) else Channel.WEB


@router.post(
    "/applications",
    auth=api_auth,
    response={201: SubmittedOut, **_ERRORS},
    summary="Submit an application",
    description=(
        "Send an `Idempotency-Key` header so a retried submit makes one application: the same key and body "
        "again answers 201 with the same application; the same key with another body answers 422 "
        "`idempotency_key_reused`. With `on_behalf_of`, window clerks apply for a walk-in (channel `window`, "
        "`id_checked` required) and village agents for a resident with consent (channel `agent`)."
    ),
)
def application_create(
    request: HttpRequest,
    payload: ApplicationIn,
) -> Status[dict[str, Any]]:
    user = _user(request)
    idempotency_key = request.headers.get("Idempotency-Key", "")
    if len(idempotency_key) > MAX_IDEMPOTENCY_KEY:
        raise ApiError(
            422,
            "idempotency_key_too_long",
            f"幂等键最长 {MAX_IDEMPOTENCY_KEY} 个字符。",
            f"The Idempotency-Key has at most {MAX_IDEMPOTENCY_KEY} characters.",
        )
    behalf = payload.on_behalf_of
    application, _ = actions.application_submit(
        acting_user=user,
        service_code=payload.service_code,
        form=payload.form,
        material_ids=payload.materials,
        channel=_channel(request, user, behalf is not None),
        idempotency_key=idempotency_key,
        on_behalf_of=actions.OnBehalfOf(**behalf.dict()) if behalf is not None else None,
    )
    return Status(201, _submitted(application))


def _summary(application: Application) -> dict[str, Any]:
    return {
        "tracking_no": application.tracking_no,
        "service_code": application.service.code,
        "service_name": application.version.name,
        "status": application.status,
        "channel": application.channel,
        "submitted_at": application.submitted_at,
        "due_date": application.due_date,
    }


@router.get(
    "/applications",
    auth=api_auth,
    response={200: list[ApplicationSummaryOut], **_ERRORS},
    summary="My applications",
    description="Applications where the caller is applicant or submitter, newest first (up to 200).",
)
def application_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [_summary(application) for application in selectors.applications_for_user(_user(request))[:200]]


@router.get(
    "/applications/queue",
    auth=api_auth,
    response={200: list[ApplicationSummaryOut], **_ERRORS},
    summary="Acceptance queue",
    description="Submitted applications waiting at the window (clerks; handlers see their department's).",
)
def application_queue(request: HttpRequest) -> list[dict[str, Any]]:
    return [_summary(application) for application in selectors.acceptance_queue(_user(request))[:200]]


@router.get(
    "/applications/{tracking_no}",
    auth=api_auth,
    response={200: ApplicationOut, **_ERRORS},
    summary="One application with its timeline and documents",
)
def application_detail(request: HttpRequest, tracking_no: str) -> dict[str, Any]:
    return _detail(request, selectors.application_for_user(_user(request), tracking_no))


@router.get(
    "/applications/{tracking_no}/documents/{document_id}",
    auth=api_auth,
    response={200: None, **_ERRORS},
    url_name="application_document",
    summary="Download a document (PDF)",
    description=(
        "Receipts, notices and decision letters are rendered and sealed (PAdES, the deciding department's "
        "electronic seal) on first download, then kept."
    ),
)
def application_document(request: HttpRequest, tracking_no: str, document_id: int) -> FileResponse:
    copy = actions.document_download(
        acting_user=_user(request), tracking_no=tracking_no, document_id=document_id
    )
    response = FileResponse(
        copy.open(), content_type=copy.document.content_type, filename=f"{copy.document.name}.pdf"
    )
    response["X-Content-SHA256"] = copy.sha256
    return response


@router.get(
    "/applications/{tracking_no}/missing",
    auth=api_auth,
    response={200: list[SupplementItemOut], **_ERRORS},
    summary="Required materials still missing",
    description="Window clerks and the owning department's handlers: where a supplement notice starts.",
)
def application_missing(request: HttpRequest, tracking_no: str) -> list[Any]:
    user = _user(request)
    application = selectors.application_for_user(user, tracking_no)
    from onewindow.applications.actions.common import require_window

    require_window(user, application)
    return [item.as_dict() for item in selectors.application_missing_items(application)]


def _readable(request: HttpRequest, tracking_no: str) -> Application:
    return selectors.application_for_user(_user(request), tracking_no)


@router.post(
    "/applications/{tracking_no}/supplement",
    auth=api_auth,
    response={200: ApplicationOut, **_ERRORS},
    summary="Answer a supplement notice",
)
def application_supplement(request: HttpRequest, tracking_no: str, payload: SupplementIn) -> dict[str, Any]:
    application = actions.application_supplement(
        acting_user=_user(request),
        application=_readable(request, tracking_no),
        form=payload.form,
        material_ids=payload.materials,
    )
    return _detail(request, application)


@router.post(
    "/applications/{tracking_no}/withdraw",
    auth=api_auth,
    response={200: ApplicationOut, **_ERRORS},
    summary="Withdraw an application before the decision",
)
def application_withdraw(request: HttpRequest, tracking_no: str, payload: WithdrawIn) -> dict[str, Any]:
    application = actions.application_withdraw(
        acting_user=_user(request), application=_readable(request, tracking_no), reason=payload.reason
    )
    return _detail(request, application)


@router.post(
    "/applications/{tracking_no}/review",
    auth=api_auth,
    response={201: ReviewOut, **_ERRORS},
    summary="Rate a decided application (好差评, once)",
)
def application_review(request: HttpRequest, tracking_no: str, payload: ReviewIn) -> Status[dict[str, Any]]:
    channel = Channel.API if getattr(request, "api_token", None) else Channel.WEB
    review = actions.review_submit(
        acting_user=_user(request),
        application=_readable(request, tracking_no),
        score=payload.score,
        comment=payload.comment,
        channel=channel,
    )
    follow_up = ReviewFollowUp.objects.filter(review=review).first()
    return Status(
        201,
        {
            "score": review.score,
            "level": review.level,
            "comment": review.comment,
            "created_at": review.created_at,
            "follow_up_due_date": follow_up.due_date if follow_up else None,
        },
    )


@router.post(
    "/applications/{tracking_no}/accept",
    auth=api_auth,
    response={200: ApplicationOut, **_ERRORS},
    summary="Accept a submitted application (window clerk)",
)
def application_accept(request: HttpRequest, tracking_no: str) -> dict[str, Any]:
    application = actions.application_accept(
        acting_user=_user(request), application=_readable(request, tracking_no)
    )
    return _detail(request, application)


@router.post(
    "/applications/{tracking_no}/refuse",
    auth=api_auth,
    response={200: ApplicationOut, **_ERRORS},
    summary="Refuse to accept, with reasons (不予受理)",
)
def application_refuse(request: HttpRequest, tracking_no: str, payload: RefuseIn) -> dict[str, Any]:
    application = actions.application_refuse(
        acting_user=_user(request),
        application=_readable(request, tracking_no),
        reason=payload.reason,
        reason_en=payload.reason_en,
    )
    return _detail(request, application)


@router.post(
    "/applications/{tracking_no}/request-supplement",
    auth=api_auth,
    response={201: SupplementRequestOut, **_ERRORS},
    summary="Send the one-time supplement notice (一次性告知)",
    description="Every required material still missing is added to the items given.",
)
def application_request_supplement(
    request: HttpRequest, tracking_no: str, payload: RequestSupplementIn
) -> Status[dict[str, Any]]:
    supplement = actions.application_request_supplement(
        acting_user=_user(request),
        application=_readable(request, tracking_no),
        items=[actions.SupplementItem(**item.dict()) for item in payload.items],
    )
    return Status(
        201, {"id": supplement.pk, "requested_at": supplement.requested_at, "items": supplement.items}
    )


@router.get(
    "/reviews/stats",
    auth=api_auth,
    response={200: list[ReviewStatOut], **_ERRORS},
    summary="Ratings per service or department (leaders, supervisors)",
)
def review_stats(
    request: HttpRequest, by: Literal["service", "department"] = "service"
) -> list[dict[str, Any]]:
    return selectors.review_stats(_user(request), by=by)


def _follow_up(follow_up: ReviewFollowUp) -> dict[str, Any]:
    return {
        "id": follow_up.pk,
        "tracking_no": follow_up.review.application.tracking_no,
        "department_code": follow_up.department.code,
        "score": follow_up.review.score,
        "comment": follow_up.review.comment,
        "due_date": follow_up.due_date,
        "status": follow_up.status,
        "response": follow_up.response,
        "answered_at": follow_up.answered_at,
    }


@router.get(
    "/reviews/follow-ups",
    auth=api_auth,
    response={200: list[FollowUpOut], **_ERRORS},
    summary="Bad-review follow-ups of my departments",
)
def follow_up_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [_follow_up(follow_up) for follow_up in selectors.follow_ups_for_user(_user(request))[:500]]


@router.post(
    "/reviews/follow-ups/{follow_up_id}/answer",
    auth=api_auth,
    response={200: FollowUpOut, **_ERRORS},
    summary="Answer a bad review's follow-up",
)
def follow_up_answer(request: HttpRequest, follow_up_id: int, payload: FollowUpAnswerIn) -> dict[str, Any]:
    user = _user(request)
    follow_up = actions.review_follow_up_answer(
        acting_user=user,
        follow_up=selectors.follow_up_for_user(user, follow_up_id),
        response=payload.response,
    )
    return _follow_up(follow_up)
