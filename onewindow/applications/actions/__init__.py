"""Application actions (every write on an application). Import from here; modules split by concept."""

from __future__ import annotations

from onewindow.applications.actions.acceptance import (
    application_accept,
    application_refuse,
    application_request_supplement,
    application_supplement,
    application_withdraw,
    applications_deem_accepted,
)
from onewindow.applications.actions.common import SupplementItem
from onewindow.applications.actions.decision import application_decide
from onewindow.applications.actions.documents import document_download
from onewindow.applications.actions.drafts import draft_delete, draft_save
from onewindow.applications.actions.reviews import review_follow_up_answer, review_submit
from onewindow.applications.actions.submit import OnBehalfOf, application_submit

__all__ = [
    "OnBehalfOf",
    "SupplementItem",
    "application_accept",
    "application_decide",
    "application_refuse",
    "application_request_supplement",
    "application_submit",
    "application_supplement",
    "application_withdraw",
    "applications_deem_accepted",
    "document_download",
    "draft_delete",
    "draft_save",
    "review_follow_up_answer",
    "review_submit",
]
