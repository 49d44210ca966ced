"""Pages with URL arguments that the accessibility sweep (test_axe_pages.py) should also visit.

The sweep finds every page without URL arguments by itself. A page such as ``/audit/<int:seq>/`` needs
an object to exist first: add an entry here for it. Each entry is either

* a path (``"/some/page/?tab=2"``), or
* a function that receives the role users (``conftest.role_users``: role name → User), creates what the
  page needs with the app's factories and returns the path, e.g.::

      def audit_record_detail(role_users):
          from onewindow.audit.actions import audit_append
          record = audit_append(action="demo.viewed", acting_user=role_users["auditor"], ...)
          return f"/audit/{record.seq}/"

      AXE_EXTRA_URLS.append(audit_record_detail)

The sweep opens each page as the first identity that gets HTTP 200 (each role of ``conftest.ALL_ROLES``,
anonymous, then the half-signed-in staff states), in Chinese and English, in large-text mode and at a
375 px viewport, and fails on any serious or critical axe-core finding. Functions run inside the test's
database, so the objects they create are cleaned up. Keep samples to one per kind of page: each costs a
browser run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ExtraUrl = str | Callable[[dict[str, Any]], str]

AXE_EXTRA_URLS: list[ExtraUrl] = []


def _audit_record_detail(role_users: dict[str, Any]) -> str:
    from onewindow.audit.actions import audit_append

    record = audit_append(action="axe.sample", acting_user=role_users["system_admin"], object_type="sample")
    return f"/audit/{record.seq}/"


def _service_point_edit(role_users: dict[str, Any]) -> str:
    from onewindow.organisations.tests.factories import ServicePointFactory

    point = ServicePointFactory.create(code="AXEHALL", name="无障碍测试服务大厅")
    return f"/admin/organisations/service-points/{point.code}/edit/"


def _division_pages(role_users: dict[str, Any]) -> str:
    # Browser tests flush the database between tests, which removes the divisions the data migration
    # loaded, so the sample creates the ones it shows.
    from onewindow.organisations.models import DivisionLevel
    from onewindow.organisations.tests.factories import DivisionFactory

    province = DivisionFactory.create(code="350000", name="福建省", level=DivisionLevel.PROVINCE)
    DivisionFactory.create(code="350100", name="福州市", level=DivisionLevel.CITY, parent=province)
    return "/admin/organisations/divisions/350000/"


def _division_create(role_users: dict[str, Any]) -> str:
    from onewindow.organisations.models import DivisionLevel
    from onewindow.organisations.tests.factories import DivisionFactory

    city = DivisionFactory.create(code="350100", name="福州市", level=DivisionLevel.CITY)
    DivisionFactory.create(code="350102", name="鼓楼区", level=DivisionLevel.COUNTY, parent=city)
    return "/admin/organisations/divisions/350102/new/"


AXE_EXTRA_URLS.extend(
    [
        _audit_record_detail,
        _service_point_edit,
        "/admin/calendar/2026/",
        "/admin/organisations/departments/TDEPT/edit/",
        "/admin/organisations/departments/TDEPT/staff/",
        _division_pages,
        _division_create,
    ]
)
