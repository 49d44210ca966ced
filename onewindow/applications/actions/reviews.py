"""好差评: the applicant rates a decided case once (一事一评); a bad rating opens a follow-up
(State Council General Office 2019 No. 51; data items GB/T 39046-2020 §6.6)."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_denied, user_has_permission
from onewindow.accounts.roles import Permission, Role
from onewindow.applications.actions.common import wrong_status
from onewindow.applications.models import DECIDED_STATUSES, Application, Review, ReviewFollowUp
from onewindow.applications.tracking import china_date
from onewindow.audit.actions import audit_append
from onewindow.core.errors import FieldError, FieldErrors, RuleViolation
from onewindow.notifications.actions import notification_send
from onewindow.services.models import Channel
from onewindow.workcalendar.calendar import add_working_days

LEVEL_BY_SCORE = {
    5: Review.Level.VERY_SATISFIED,
    4: Review.Level.SATISFIED,
    3: Review.Level.BASICALLY_SATISFIED,
    2: Review.Level.DISSATISFIED,
    1: Review.Level.VERY_DISSATISFIED,
}
# 不满意 and 非常不满意 are bad reviews.
BAD_SCORE_MAX = 2


def _department_staff(department_id: int) -> list[User]:
    """The department's handlers and admins with an active membership (one query)."""
    now = timezone.now()
    return list(
        User.objects.filter(
            is_active=True,
            memberships__department_id=department_id,
            memberships__role__in=[Role.DEPARTMENT_HANDLER, Role.DEPARTMENT_ADMIN],
        )
        .filter(Q(memberships__valid_from__isnull=True) | Q(memberships__valid_from__lte=now))
        .filter(Q(memberships__valid_until__isnull=True) | Q(memberships__valid_until__gt=now))
        .distinct()
        .order_by("pk")
    )


def review_submit(
    *, acting_user: User, application: Application, score: int, comment: str = "", channel: str
) -> Review:
    """Rate a decided application 1–5, once; 1 or 2 opens a follow-up for the owning department.

    The follow-up is due ``REVIEW_FOLLOW_UP_DAYS`` working days from today and the department's handlers and
    admins are notified (谁办理、谁负责).
    """
    if application.applicant_id != acting_user.pk:
        raise permission_denied(
            acting_user, Permission.APPLY, object_type="application", object_id=application.tracking_no
        )
    errors: list[FieldError] = []
    if isinstance(score, bool) or not isinstance(score, int) or score not in LEVEL_BY_SCORE:
        errors.append(FieldError("score", "score_range", "评分应为 1 到 5 的整数。", "The score is 1 to 5."))
    if channel not in Channel.values:
        errors.append(FieldError("channel", "invalid", "渠道无效。", "The channel is not valid."))
    if errors:
        raise FieldErrors(errors)
    if application.status not in DECIDED_STATUSES:
        raise wrong_status(application, "评价（须在办结后评价）", "rated before a decision")
    department = application.service.department
    try:
        with transaction.atomic():
            now = timezone.now()
            review = Review.objects.create(
                application=application,
                rater=acting_user,
                score=score,
                level=LEVEL_BY_SCORE[score],
                comment=comment.strip(),
                channel=channel,
                service_code=application.service.code,
                department_code=department.code,
                created_at=now,
            )
            if score <= BAD_SCORE_MAX:
                due = add_working_days(china_date(now), settings.REVIEW_FOLLOW_UP_DAYS)
                follow_up = ReviewFollowUp.objects.create(review=review, department=department, due_date=due)
                for member in _department_staff(department.pk):
                    notification_send(
                        user=member,
                        kind="review_follow_up",
                        title=f"差评待整改（{application.tracking_no}），{due:%Y-%m-%d} 前答复",
                        title_en=f"Bad review to follow up ({application.tracking_no}) by {due:%Y-%m-%d}",
                        body=comment.strip(),
                        body_en=comment.strip(),
                        link=f"/reviews/follow-ups/{follow_up.pk}/",
                        object_type="review_follow_up",
                        object_id=str(follow_up.pk),
                    )
            audit_append(
                action="review.submitted",
                acting_user=acting_user,
                object_type="application",
                object_id=application.tracking_no,
                details={"score": score, "level": LEVEL_BY_SCORE[score], "channel": channel},
            )
    except IntegrityError:
        raise _already_rated(application) from None
    return review


def _already_rated(application: Application) -> RuleViolation:
    return RuleViolation(
        "already_reviewed",
        f"办件 {application.tracking_no} 已评价过（一事一评）。",
        f"Application {application.tracking_no} has already been rated (one rating per case).",
        status=409,
    )


def review_follow_up_answer(*, acting_user: User, follow_up: ReviewFollowUp, response: str) -> ReviewFollowUp:
    """The department answers a bad review's follow-up; the rater is notified of the answer."""
    code = follow_up.department.code
    if not (
        user_has_permission(acting_user, Permission.HANDLE_TASKS, department_code=code)
        or user_has_permission(acting_user, Permission.MANAGE_DEPARTMENT, department_code=code)
    ):
        raise permission_denied(
            acting_user, Permission.HANDLE_TASKS, object_type="review_follow_up", object_id=str(follow_up.pk)
        )
    response = response.strip()
    if not response:
        raise FieldErrors(
            [FieldError("response", "required", "请填写整改答复。", "Write the answer to the rater.")]
        )
    with transaction.atomic():
        locked = (
            ReviewFollowUp.objects.select_for_update()
            .select_related("review__application")
            .get(pk=follow_up.pk)
        )
        if locked.status != ReviewFollowUp.FollowUpStatus.OPEN:
            raise RuleViolation(
                "follow_up_answered",
                "该差评已答复。",
                "This follow-up has already been answered.",
                status=409,
            )
        locked.status = ReviewFollowUp.FollowUpStatus.ANSWERED
        locked.response = response
        locked.answered_by = acting_user
        locked.answered_at = timezone.now()
        locked.save(update_fields=["status", "response", "answered_by", "answered_at"])
        application = locked.review.application
        notification_send(
            user=locked.review.rater,
            kind="review_answered",
            title=f"您的评价已收到答复（{application.tracking_no}）",
            title_en=f"Your rating was answered ({application.tracking_no})",
            body=response,
            body_en=response,
            link=f"/applications/{application.tracking_no}/",
            object_type="application",
            object_id=application.tracking_no,
        )
        audit_append(
            action="review.follow_up_answered",
            acting_user=acting_user,
            object_type="review_follow_up",
            object_id=locked.pk,
            details={"tracking_no": application.tracking_no},
        )
    return locked
