"""Start-up guards: a production process refuses to start in a state that must never reach production."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError

from onewindow.core.logging import get_logger

logger = get_logger(__name__)


class DemoAccountsInProductionError(ImproperlyConfigured):
    """Demo accounts (published passwords) exist while ONEWINDOW_ENV=production."""

    def __init__(self, count: int) -> None:
        self.count = count
        super().__init__(demo_accounts_message(count))


def demo_accounts_message(count: int) -> str:
    return (
        f"生产环境（ONEWINDOW_ENV=production）中存在 {count} 个演示账户（is_demo），演示账户的密码是公开的，"
        "拒绝启动。请删除这些账户后再启动。\n"
        f"Refusing to start: {count} demo account(s) (is_demo) exist while ONEWINDOW_ENV=production, and "
        "demo passwords are public. Delete those accounts, then start again."
    )


def demo_account_count() -> int:
    return get_user_model().objects.filter(is_demo=True).count()


def refuse_demo_accounts_in_production(*, tolerate_unreachable_database: bool = False) -> None:
    """Raise :class:`DemoAccountsInProductionError` when production settings meet any demo account.

    Does nothing outside production. ``tolerate_unreachable_database`` is for the web application's import
    (``config/wsgi.py``): a database that is briefly down while a web worker (re)starts must not halt the
    whole server (``/readyz`` reports it); the command line (``onewindow serve/worker/scheduler``) checks
    strictly before starting anything.
    """
    if not settings.PRODUCTION:
        return
    try:
        count = demo_account_count()
    except DatabaseError:
        if not tolerate_unreachable_database:
            raise
        logger.warning("demo_account_guard_skipped", reason="database unreachable")
        return
    if count:
        raise DemoAccountsInProductionError(count)
