"""Kinds of account, roles and the permissions each role grants.

Separation of duties (MLPS 2.0 level 3, GB/T 22239-2019 §8.1.4.2): the system administrator, the security
officer and the auditor are distinct roles that no single account may combine; the system administrator
cannot read or alter audit records; the auditor can read them and nothing else.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Kind(models.TextChoices):
    RESIDENT = "resident", _("Resident")
    ENTERPRISE = "enterprise", _("Enterprise representative")
    STAFF = "staff", _("Staff")


class Role(models.TextChoices):
    RESIDENT = "resident", _("Resident")
    ENTERPRISE_REPRESENTATIVE = "enterprise_representative", _("Enterprise representative")
    WINDOW_CLERK = "window_clerk", _("Window clerk")
    VILLAGE_AGENT = "village_agent", _("Village/community agent")
    DEPARTMENT_HANDLER = "department_handler", _("Department handler")
    DEPARTMENT_ADMIN = "department_admin", _("Department administrator")
    LEADER = "leader", _("Leader")
    SECURITY_OFFICER = "security_officer", _("Security officer")
    AUDITOR = "auditor", _("Auditor")
    SYSTEM_ADMIN = "system_admin", _("System administrator")
    VENDOR_STAFF = "vendor_staff", _("Vendor staff")
    SUPERVISOR = "supervisor", _("Third-party supervisor")


# Roles held through a staff membership (the first two come from the account's kind).
STAFF_ROLES = frozenset(Role) - {Role.RESIDENT, Role.ENTERPRISE_REPRESENTATIVE}

# Roles that act for one department and therefore need one on their membership.
DEPARTMENT_ROLES = frozenset({Role.DEPARTMENT_HANDLER, Role.DEPARTMENT_ADMIN})

# No account may hold two of these at once (三员分立: 系统管理员、安全保密管理员、安全审计员).
SEPARATED_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_OFFICER, Role.AUDITOR})


class Permission(models.TextChoices):
    """Named permissions. Views, API endpoints and selectors check these, never role names."""

    APPLY = "apply", _("Apply for services")
    APPLY_FOR_ENTERPRISE = "apply_for_enterprise", _("Apply for services on behalf of an enterprise")
    ACCEPT_APPLICATIONS = "accept_applications", _("Accept applications at a window")
    APPLY_AS_AGENT = "apply_as_agent", _("Apply on someone's behalf at a service point")
    HANDLE_TASKS = "handle_tasks", _("Handle department tasks")
    MANAGE_DEPARTMENT = "manage_department", _("Manage a department's services and staff")
    VIEW_DASHBOARDS = "view_dashboards", _("View leadership dashboards")
    MANAGE_SECURITY = "manage_security", _("Manage security policy, lockouts and incidents")
    VIEW_AUDIT = "view_audit", _("Read and export audit records")
    MANAGE_SYSTEM = "manage_system", _("Administer organisations, accounts and the calendar")
    OPERATE_SYSTEMS = "operate_systems", _("Operate assigned information systems")
    SUPERVISE = "supervise", _("Read-only third-party supervision")
    VIEW_WORKBENCH = "view_workbench", _("Use the staff workbench")


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.RESIDENT: frozenset({Permission.APPLY}),
    Role.ENTERPRISE_REPRESENTATIVE: frozenset({Permission.APPLY, Permission.APPLY_FOR_ENTERPRISE}),
    Role.WINDOW_CLERK: frozenset({Permission.ACCEPT_APPLICATIONS, Permission.VIEW_WORKBENCH}),
    Role.VILLAGE_AGENT: frozenset({Permission.APPLY_AS_AGENT, Permission.VIEW_WORKBENCH}),
    Role.DEPARTMENT_HANDLER: frozenset({Permission.HANDLE_TASKS, Permission.VIEW_WORKBENCH}),
    Role.DEPARTMENT_ADMIN: frozenset(
        {Permission.MANAGE_DEPARTMENT, Permission.HANDLE_TASKS, Permission.VIEW_WORKBENCH}
    ),
    Role.LEADER: frozenset({Permission.VIEW_DASHBOARDS, Permission.VIEW_WORKBENCH}),
    Role.SECURITY_OFFICER: frozenset({Permission.MANAGE_SECURITY, Permission.VIEW_WORKBENCH}),
    Role.AUDITOR: frozenset({Permission.VIEW_AUDIT}),
    Role.SYSTEM_ADMIN: frozenset({Permission.MANAGE_SYSTEM, Permission.VIEW_WORKBENCH}),
    Role.VENDOR_STAFF: frozenset({Permission.OPERATE_SYSTEMS, Permission.VIEW_WORKBENCH}),
    Role.SUPERVISOR: frozenset({Permission.SUPERVISE}),
}
