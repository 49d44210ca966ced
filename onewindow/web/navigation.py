"""Who sees which home page, navigation item and tile.

The audience home pages and the links on them are data, not template code, so the views, the header
navigation, the post-login redirect and the tests all read the same rules. A link is shown only when
its target exists (another app may not be installed yet) and the user holds one of its permissions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from onewindow.accounts.models import User
from onewindow.accounts.permissions import user_has_permission
from onewindow.accounts.roles import Kind, Permission

Text = str | Promise


@dataclass(frozen=True)
class Audience:
    """A group of users with a home page of its own."""

    key: str
    url_name: str
    label: Text
    permission: Permission
    # Residents and enterprise representatives both hold APPLY; the resident home is for residents.
    kind: Kind | None = None

    def allows(self, user: User | AnonymousUser) -> bool:
        if not user_has_permission(user, self.permission):
            return False
        return self.kind is None or (isinstance(user, User) and user.kind == self.kind)


# Order matters: /start/ sends a user to the first audience that admits them.
AUDIENCES: tuple[Audience, ...] = (
    Audience("enterprise", "web:enterprise", _("Enterprise services"), Permission.APPLY_FOR_ENTERPRISE),
    Audience("resident", "web:resident", _("My services"), Permission.APPLY, Kind.RESIDENT),
    Audience("leader", "web:leader", _("Dashboards"), Permission.VIEW_DASHBOARDS),
    Audience("auditor", "web:auditor", _("Audit"), Permission.VIEW_AUDIT),
    Audience("supervisor", "web:supervisor", _("Supervision"), Permission.SUPERVISE),
    Audience("workbench", "web:workbench", _("Workbench"), Permission.VIEW_WORKBENCH),
)
AUDIENCE_BY_KEY = {audience.key: audience for audience in AUDIENCES}


def audiences_for(user: User | AnonymousUser) -> list[Audience]:
    return [audience for audience in AUDIENCES if audience.allows(user)]


@dataclass(frozen=True)
class NavItem:
    label: Text
    url: str
    current: bool


def nav_items(user: User | AnonymousUser, current_path: str) -> list[NavItem]:
    """The header's service navigation: home, then each home page the user may open."""
    items = [NavItem(_("Home"), reverse("web:home"), current_path == reverse("web:home"))]
    for audience in audiences_for(user):
        url = reverse(audience.url_name)
        items.append(NavItem(audience.label, url, current_path.startswith(url)))
    return items


def existing_url(targets: Iterable[str]) -> str | None:
    """The first target that exists: a URL name (``app:name``) that reverses, or a path that resolves.

    Paths are accepted because the issue names pages by path (``/admin/calendar/``) before the apps that
    serve them have chosen URL names; either way a link appears only once its page exists.
    """
    for target in targets:
        if target.startswith("/"):
            try:
                resolve(target)
            except Resolver404:
                continue
            return target
        try:
            return reverse(target)
        except NoReverseMatch:
            continue
    return None


@dataclass(frozen=True)
class Tile:
    """A link on an audience home page, shown to holders of any of ``permissions``."""

    title: Text
    description: Text
    targets: tuple[str, ...]
    permissions: frozenset[Permission]
    # Set for a page that only one department's holders of the permissions may use (a register's keepers).
    department_code: str | None = None


@dataclass(frozen=True)
class ShownTile:
    title: Text
    description: Text
    url: str


def _tile(
    title: Text,
    description: Text,
    targets: tuple[str, ...],
    *permissions: Permission,
    department_code: str | None = None,
) -> Tile:
    return Tile(title, description, targets, frozenset(permissions), department_code)


def _entity_lookup_tile(*permissions: Permission) -> Tile:
    return _tile(
        _("Look up an enterprise"),
        _("An enterprise's public registration by its unified social credit code."),
        ("registry:entities", "/registry/entities/"),
        *permissions,
    )


_APPLICANT = (Permission.APPLY,)
_ALL_STAFF = (Permission.VIEW_WORKBENCH,)


def _notifications_tile(*permissions: Permission) -> Tile:
    return _tile(
        _("Messages"),
        _("Notices about your applications and tasks."),
        ("notifications:list", "/notifications/"),
        *permissions,
    )


_REVIEW_STATS = (
    _("Good/bad review statistics"),
    _("Ratings, averages and bad-review rates by service and department."),
)

TILES: dict[str, tuple[Tile, ...]] = {
    "resident": (
        _tile(
            _("Apply for a service"),
            _("Find a service and apply online, once, for everything it needs."),
            ("services:catalogue", "/services/"),
            *_APPLICANT,
        ),
        _tile(
            _("My applications"),
            _("Follow your applications, answer requests for material and rate the service."),
            ("applications:mine", "/applications/"),
            *_APPLICANT,
        ),
        _tile(
            _("My licences"),
            _("Your electronic licences: download them and share a time-limited verification link."),
            ("licences:wallet", "/licences/mine/"),
            *_APPLICANT,
        ),
        _tile(
            _("Request government information"),
            _("Ask a department to disclose information it holds."),
            ("openinfo:request_create", "/open-information/"),
            *_APPLICANT,
        ),
        _tile(
            _("Service points near you"),
            _("Service halls and village service points where staff can help you apply."),
            ("organisations:service_points", "/service-points/"),
            *_APPLICANT,
        ),
        _entity_lookup_tile(*_APPLICANT),
        _notifications_tile(*_APPLICANT),
    ),
    "enterprise": (
        _tile(
            _("Apply for a service for your enterprise"),
            _("Licences, registrations and other services for businesses."),
            ("services:catalogue", "/services/"),
            Permission.APPLY_FOR_ENTERPRISE,
        ),
        _tile(
            _("Enterprise applications"),
            _("Follow your enterprise's applications and answer requests for material."),
            ("applications:mine", "/applications/"),
            Permission.APPLY_FOR_ENTERPRISE,
        ),
        _tile(
            _("My licences"),
            _(
                "Your enterprise's electronic licences: download them and share a time-limited "
                "verification link."
            ),
            ("licences:wallet", "/licences/mine/"),
            Permission.APPLY_FOR_ENTERPRISE,
        ),
        _tile(
            _("Request government information"),
            _("Ask a department to disclose information it holds."),
            ("openinfo:request_create", "/open-information/"),
            Permission.APPLY_FOR_ENTERPRISE,
        ),
        _entity_lookup_tile(Permission.APPLY_FOR_ENTERPRISE),
        _notifications_tile(Permission.APPLY_FOR_ENTERPRISE),
    ),
    "workbench": (
        _tile(
            _("Accept applications"),
            _("Receive applications at the window and check their material."),
            ("applications:window_index", "/window/"),
            Permission.ACCEPT_APPLICATIONS,
        ),
        _tile(
            _("Apply on someone's behalf"),
            _("Help a resident apply at a village or community service point."),
            ("applications:agent_index", "/agent/"),
            Permission.APPLY_AS_AGENT,
        ),
        _tile(
            _("My tasks"),
            _("Tasks waiting for your department, with their deadlines."),
            ("workflow:inbox", "/tasks/"),
            Permission.HANDLE_TASKS,
        ),
        _tile(
            _("Population register"),
            _("Look people up by ID number; register births, transfers, deaths, new names and corrections."),
            ("registry:persons", "/registry/persons/"),
            Permission.HANDLE_TASKS,
            department_code="PSB",
        ),
        _tile(
            _("Legal-entity register"),
            _("Register enterprises and other market entities, change and cancel their registration."),
            ("registry:entities", "/registry/entities/"),
            Permission.HANDLE_TASKS,
            department_code="AMR",
        ),
        _tile(
            _("Bad review follow-ups"),
            _("Bad reviews of your department to check, put right and answer."),
            ("applications:follow_ups", "/reviews/follow-ups/"),
            Permission.HANDLE_TASKS,
            Permission.MANAGE_DEPARTMENT,
        ),
        _tile(
            _("Service items"),
            _("Your department's service items, materials and time limits."),
            ("services_admin:index", "/admin/services/"),
            Permission.MANAGE_DEPARTMENT,
        ),
        _tile(
            _("Process models"),
            _("Your department's BPMN processes: view, edit in the browser, validate and publish."),
            ("processes:index", "/admin/processes/"),
            Permission.MANAGE_DEPARTMENT,
            Permission.HANDLE_TASKS,
        ),
        _tile(
            _("Electronic supervision"),
            _("Cases and tasks near or past their deadlines (yellow and red cards)."),
            ("workflow:supervision", "/supervision/"),
            Permission.MANAGE_DEPARTMENT,
        ),
        _tile(
            _("Extension requests"),
            _("Requests for more working days to approve or refuse."),
            ("workflow:extensions", "/extensions/"),
            Permission.MANAGE_DEPARTMENT,
        ),
        _tile(
            _("Delegations"),
            _("Let a handler work a colleague's tasks during leave."),
            ("workflow:delegations", "/delegations/"),
            Permission.MANAGE_DEPARTMENT,
        ),
        _tile(
            _("Electronic seals"),
            _("Electronic seals of departments: versions, holders, rotation and revocation."),
            ("seals:manage", "/seals/manage/"),
            Permission.MANAGE_DEPARTMENT,
            Permission.MANAGE_SYSTEM,
        ),
        _tile(
            _("Licences issued"),
            _("Licences your department issued: verification status, revocation with a reason."),
            ("licences:manage", "/licences/manage/"),
            Permission.MANAGE_DEPARTMENT,
        ),
        _tile(
            _("Event subscriptions"),
            _("Your departments' subscriptions to registry events: backlog, dead letters and replay."),
            ("pubsub:subscriptions", "/exchange/subscriptions/"),
            Permission.MANAGE_DEPARTMENT,
            Permission.MANAGE_SYSTEM,
        ),
        _tile(
            _("Exchange services"),
            _("Calls, errors and response times of the exchange's services; register and change services."),
            ("exchange:services", "/exchange/services/"),
            Permission.MANAGE_DEPARTMENT,
            Permission.MANAGE_SYSTEM,
        ),
        _tile(
            _("Subsystem keys"),
            _("The exchange signing keys of your subsystems: issue, rotate and revoke."),
            ("exchange:systems", "/exchange/systems/"),
            Permission.MANAGE_DEPARTMENT,
            Permission.MANAGE_SYSTEM,
        ),
        _tile(
            _("Federation"),
            _("Other OneWindow nodes: this node's identity, peers and grants to their consumers."),
            ("federation:admin_node", "/federation/admin/"),
            Permission.MANAGE_SYSTEM,
        ),
        _tile(
            _("Service guides"),
            _("Every published service: materials, time limits, fees and legal basis."),
            ("services:catalogue", "/services/"),
            *_ALL_STAFF,
        ),
        _tile(
            _("Information resource catalog"),
            _("What each department holds and on what terms others may use it (GB/T 21063)."),
            ("catalog:catalogue", "/catalog/"),
            *_ALL_STAFF,
        ),
        _tile(
            _("Sharing requests"),
            _("Requests for your department's resources to answer, and your department's own requests."),
            ("catalog:share_requests", "/catalog/share-requests/"),
            Permission.MANAGE_DEPARTMENT,
            Permission.HANDLE_TASKS,
        ),
        _tile(
            _("Information systems register"),
            _("Departments' systems, the resources they provide and consume, and their interconnection."),
            ("catalog:systems", "/catalog/systems/"),
            Permission.HANDLE_TASKS,
            Permission.MANAGE_SYSTEM,
        ),
        _tile(
            _("Dashboards"),
            _("Volumes, deadlines and ratings across departments."),
            ("web:leader",),
            Permission.VIEW_DASHBOARDS,
        ),
        _tile(
            _("Organisations"),
            _("Divisions, departments and service points."),
            ("organisations:admin_index", "/admin/organisations/"),
            Permission.MANAGE_SYSTEM,
        ),
        _tile(
            _("Accounts and roles"),
            _("Staff accounts, their roles and departments."),
            ("accounts:admin_index", "/admin/accounts/"),
            Permission.MANAGE_SYSTEM,
        ),
        _tile(
            _("Working-day calendar"),
            _("Public holidays and make-up working days that deadlines are counted with."),
            ("workcalendar:admin_index", "/admin/calendar/"),
            Permission.MANAGE_SYSTEM,
        ),
        _tile(
            _("Security"),
            _("Account lockouts, security policy and incidents."),
            ("security:index", "/security/"),
            Permission.MANAGE_SECURITY,
        ),
        _tile(
            _("Information systems"),
            _("The outsourced systems you operate and their service levels."),
            ("outsourcing:index", "/outsourcing/"),
            Permission.OPERATE_SYSTEMS,
        ),
        _tile(
            _("API documentation"),
            _("The platform's HTTP API for apps, kiosks and other systems."),
            ("api:openapi-view", "/api/v1/docs"),
            *_ALL_STAFF,
        ),
        _notifications_tile(*_ALL_STAFF),
    ),
    "leader": (
        _tile(
            _("Dashboards"),
            _("Volumes, deadlines and ratings across departments."),
            ("dashboards:index", "/dashboards/"),
            Permission.VIEW_DASHBOARDS,
        ),
        _tile(
            _("Electronic supervision"),
            _("Cases and tasks near or past their deadlines (yellow and red cards)."),
            ("workflow:supervision", "/supervision/"),
            Permission.VIEW_DASHBOARDS,
        ),
        _tile(*_REVIEW_STATS, ("applications:review_stats", "/reviews/stats/"), Permission.VIEW_DASHBOARDS),
        _tile(
            _("Workbench"),
            _("Everything else your roles allow."),
            ("web:workbench",),
            Permission.VIEW_WORKBENCH,
        ),
    ),
    "auditor": (
        _tile(
            _("Audit records"),
            _("Search, verify and export the tamper-evident audit trail."),
            ("audit:index", "/audit/"),
            Permission.VIEW_AUDIT,
        ),
        _notifications_tile(Permission.VIEW_AUDIT),
    ),
    "supervisor": (
        _tile(
            _("Electronic supervision"),
            _("Cases and tasks near or past their deadlines (yellow and red cards)."),
            ("workflow:supervision", "/supervision/"),
            Permission.SUPERVISE,
        ),
        _tile(
            _("Outsourced systems"),
            _("Contracts, service levels and security incidents of outsourced systems."),
            ("outsourcing:index", "/outsourcing/"),
            Permission.SUPERVISE,
        ),
        _tile(*_REVIEW_STATS, ("applications:review_stats", "/reviews/stats/"), Permission.SUPERVISE),
        _notifications_tile(Permission.SUPERVISE),
    ),
}


def tiles_for(user: User | AnonymousUser, tiles: Iterable[Tile]) -> list[ShownTile]:
    """The tiles the user may use whose pages exist, in the given order."""
    shown: list[ShownTile] = []
    for tile in tiles:
        if not any(
            user_has_permission(user, permission, department_code=tile.department_code)
            for permission in tile.permissions
        ):
            continue
        url = existing_url(tile.targets)
        if url is not None:
            shown.append(ShownTile(tile.title, tile.description, url))
    return shown
