"""好差评 (State Council General Office 2019 No. 51; GB/T 39046-2020 §6.6): one rating per case, bad ratings
followed up by the department within the configured working days; drafts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import override_settings
from django.utils import timezone

from onewindow.applications.actions import (
    application_accept,
    application_decide,
    draft_delete,
    draft_save,
    review_follow_up_answer,
    review_submit,
)
from onewindow.applications.models import Application, Draft, Review, ReviewFollowUp
from onewindow.applications.selectors import follow_ups_for_user, review_stats
from onewindow.applications.tracking import CHINA
from onewindow.core.errors import FieldErrors, RuleViolation
from onewindow.notifications.models import Notification
from onewindow.workcalendar.calendar import add_working_days

pytestmark = pytest.mark.django_db


@pytest.fixture
def decided(role_users: dict[str, Any], submit: Callable[..., Application]) -> Application:
    application = application_accept(acting_user=role_users["window_clerk"], application=submit())
    return application_decide(acting_user=None, application=application, outcome="approved")


def test_review_levels_by_name(role_users: dict[str, Any], decided: Application) -> None:
    review = review_submit(acting_user=role_users["resident"], application=decided, score=4, channel="web")
    assert (review.level, review.service_code, review.department_code) == ("satisfied", "TSVC", "TDEPT")
    assert not ReviewFollowUp.objects.exists()
    with pytest.raises(RuleViolation) as raised:
        review_submit(acting_user=role_users["resident"], application=decided, score=5, channel="web")
    assert raised.value.code == "already_reviewed"


@override_settings(REVIEW_FOLLOW_UP_DAYS=7)
def test_bad_review_opens_a_follow_up_due_in_working_days(
    role_users: dict[str, Any], decided: Application
) -> None:
    review = review_submit(
        acting_user=role_users["resident"], application=decided, score=2, comment="等太久", channel="api"
    )
    follow_up = ReviewFollowUp.objects.get(review=review)
    assert follow_up.department.code == "TDEPT"
    assert follow_up.due_date == add_working_days(timezone.now().astimezone(CHINA).date(), 7)
    notified = set(
        Notification.objects.filter(kind="review_follow_up").values_list("user__username", flat=True)
    )
    assert notified == {"t_department_handler", "t_department_admin"}
    with pytest.raises(PermissionDenied):
        review_follow_up_answer(acting_user=role_users["leader"], follow_up=follow_up, response="x")
    answered = review_follow_up_answer(
        acting_user=role_users["department_admin"], follow_up=follow_up, response="已致歉并整改"
    )
    assert answered.status == "answered"
    assert Notification.objects.filter(kind="review_answered", user=role_users["resident"]).count() == 1
    with pytest.raises(RuleViolation):
        review_follow_up_answer(
            acting_user=role_users["department_handler"], follow_up=follow_up, response="again"
        )


def test_review_rules(
    role_users: dict[str, Any], submit: Callable[..., Application], decided: Application
) -> None:
    with pytest.raises(RuleViolation):
        review_submit(
            acting_user=role_users["resident"], application=submit(), score=5, channel="web"
        )  # undecided
    for role in ("window_clerk", "department_handler", "enterprise_representative"):
        with pytest.raises(PermissionDenied):
            review_submit(acting_user=role_users[role], application=decided, score=5, channel="web")
    with pytest.raises(FieldErrors):
        review_submit(acting_user=role_users["resident"], application=decided, score=6, channel="web")
    assert Review.objects.count() == 0


def test_stats_and_follow_up_lists_are_for_their_roles(
    role_users: dict[str, Any], decided: Application
) -> None:
    review_submit(acting_user=role_users["resident"], application=decided, score=1, channel="web")
    [row] = review_stats(role_users["supervisor"], by="service")
    assert (row["code"], row["count"], row["bad_count"], row["bad_rate"]) == ("TSVC", 1, 1, 1.0)
    with pytest.raises(PermissionDenied):
        review_stats(role_users["department_handler"], by="service")
    assert follow_ups_for_user(role_users["department_handler"]).count() == 1
    with pytest.raises(PermissionDenied):
        follow_ups_for_user(role_users["leader"])


def test_drafts_are_saved_resumed_and_deleted(role_users: dict[str, Any], service: Any) -> None:
    resident = role_users["resident"]
    draft_save(acting_user=resident, service_code="TSVC", form={"company_name": "半"})
    draft = draft_save(
        acting_user=resident, service_code="TSVC", form={"company_name": "半成品"}, material_ids=["a"]
    )
    assert Draft.objects.get().form_data == {"company_name": "半成品"}
    assert draft.material_ids == ["a"]
    with pytest.raises(PermissionDenied):
        draft_save(acting_user=role_users["auditor"], service_code="TSVC", form={})
    draft_delete(acting_user=resident, service_code="TSVC")
    draft_delete(acting_user=resident, service_code="TSVC")
    assert not Draft.objects.exists()
