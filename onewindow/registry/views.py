"""The registries' front-desk pages: the population register for public-security handlers and the
legal-entity register for market-regulation handlers, and the public lookup of an entity by credit code.

Thin: parse the form, call the selector or action, render. Anonymous visitors to staff pages go to sign in;
signed-in users without ``HANDLE_TASKS`` in the register's department get 403 (audited), before anything is
read. The actions and selectors check again and audit every lookup and change.

ID numbers never appear in URLs (URLs land in access logs and browser history): a person is looked up by
ID number with a POST, and every page after that names the person by internal id. Person pages are never
cached. Errors come back as a 422 page (409 for a conflict with the register, 403 for a purpose that is not
a case of the department) with the error summary linked to the fields; to htmx, which swaps only 2xx
answers, the same page comes back as 200.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypedDict, TypeVar, cast

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from onewindow.accounts.models import User
from onewindow.accounts.permissions import require_permission, user_has_permission
from onewindow.accounts.roles import Permission
from onewindow.core.errors import FieldErrors, RuleViolation
from onewindow.organisations.models import Division
from onewindow.organisations.selectors import department_by_code
from onewindow.registry import actions, entities, selectors, selectors_pages
from onewindow.registry.ethnicity import ETHNICITY_BY_CODE
from onewindow.registry.forms import (
    GENDER_LABELS,
    PERSON_NAME_LABEL,
    BirthForm,
    CorrectForm,
    DeathForm,
    EntityCancelForm,
    EntityChangeForm,
    EntityLookupForm,
    EntityRegisterForm,
    FullViewForm,
    PersonLookupForm,
    RegistryForm,
    RenameForm,
    TransferForm,
    in_language,
    is_english,
)
from onewindow.registry.models import Person, PersonStatus, Relation, VersionKind
from onewindow.registry.models_entities import EntityStatus, EntityType, EntityVersionKind, LegalEntity

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponseBase])

PERSON_FIELD_LABELS: dict[str, Promise] = {
    "*": gettext_lazy("Whole record (first version)"),
    "name": PERSON_NAME_LABEL,
    "former_names": gettext_lazy("Former names"),
    "ethnicity": gettext_lazy("Ethnic group"),
    "birthplace_code": gettext_lazy("Birthplace"),
    "household": gettext_lazy("Household"),
    "household_no": gettext_lazy("Household number"),
    "division_code": gettext_lazy("Division"),
    "address": gettext_lazy("Address"),
    "relation_to_head": gettext_lazy("Relation to the head of household"),
    "status": gettext_lazy("Status"),
    "died_on": gettext_lazy("Date of death"),
}
ENTITY_FIELD_LABELS: dict[str, Promise] = {
    "*": gettext_lazy("Whole record (first version)"),
    "name": gettext_lazy("Name"),
    "address": gettext_lazy("Address"),
    "registered_capital": gettext_lazy("Registered capital"),
    "business_scope": gettext_lazy("Business scope"),
    "legal_rep": gettext_lazy("Legal representative"),
    "status": gettext_lazy("Status"),
}
# Own labels with a context: the models' "Active" is translated differently by another app's catalogue.
PERSON_STATUS_LABELS: dict[str, Promise] = {
    PersonStatus.ACTIVE: pgettext_lazy("person status", "Active"),
    PersonStatus.MOVED_OUT: pgettext_lazy("person status", "Moved out"),
    PersonStatus.DECEASED: pgettext_lazy("person status", "Deceased"),
}
PERSON_STATUS_TAGS: dict[str, str] = {
    PersonStatus.ACTIVE: "govuk-tag--green",
    PersonStatus.MOVED_OUT: "govuk-tag--grey",
    PersonStatus.DECEASED: "govuk-tag--grey",
}
ENTITY_STATUS_LABELS: dict[str, Promise] = {
    EntityStatus.ACTIVE: pgettext_lazy("entity status", "Active"),
    EntityStatus.REVOKED: pgettext_lazy("entity status", "Revoked"),
    EntityStatus.CANCELLED: pgettext_lazy("entity status", "Cancelled"),
}
ENTITY_STATUS_TAGS: dict[str, str] = {
    EntityStatus.ACTIVE: "govuk-tag--green",
    EntityStatus.REVOKED: "govuk-tag--red",
    EntityStatus.CANCELLED: "govuk-tag--grey",
}


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _handler_required(department_code: str, object_type: str) -> Callable[[ViewFunc], ViewFunc]:
    """Anonymous visitors go to sign in; others need HANDLE_TASKS in ``department_code`` (refusal audited)."""

    def decorator(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            require_permission(
                request.user,
                Permission.HANDLE_TASKS,
                department_code=department_code,
                object_type=object_type,
                object_id=view.__name__,
            )
            return view(request, *args, **kwargs)

        return cast(ViewFunc, wrapped)

    return decorator


population_handler = _handler_required(actions.REGISTRY_POPULATION_DEPARTMENT, "person")
entity_handler = _handler_required(entities.REGISTRY_ENTITY_DEPARTMENT, "legal_entity")


def _is_entity_handler(request: HttpRequest) -> bool:
    return user_has_permission(
        request.user, Permission.HANDLE_TASKS, department_code=entities.REGISTRY_ENTITY_DEPARTMENT
    )


def _refusal_status(refused: RuleViolation | FieldErrors) -> int:
    if isinstance(refused, RuleViolation) and refused.status in (403, 404, 409):
        return refused.status
    return 422


def _render(
    request: HttpRequest, template: str, form: RegistryForm, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    form.mark_errors()
    if form.errors and status == 200:
        status = 422
    if request.htmx:  # type: ignore[attr-defined]
        status = 200
    return render(request, template, {"form": form, **context}, status=status)


def _label(choices: Any, value: str | None) -> str:
    if not value:
        return ""
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def _mapped(labels: dict[str, Promise], value: str) -> str:
    return str(labels.get(value, value))


def _ethnicity(code: str) -> str:
    ethnicity = ETHNICITY_BY_CODE.get(code)
    if ethnicity is None:
        return code
    return f"{ethnicity.name_en if is_english() else ethnicity.name_zh} ({code})"


def _division_names(codes: list[str]) -> dict[str, str]:
    wanted = sorted({code for code in codes if code})
    if not wanted:
        return {}
    return dict(Division.objects.filter(code__in=wanted).values_list("code", "name"))


def _division(code: str, names: dict[str, str]) -> str:
    if not code:
        return ""
    name = names.get(code)
    return f"{code} {name}" if name else code


# --- Population register ------------------------------------------------------------------------------


class Row(TypedDict):
    label: str
    value: str
    hidden: bool


def _row(label: str, value: str | None, *, hidden: bool = False) -> Row:
    return Row(label=label, value=value or "", hidden=hidden)


def _history_value(field: str, value: object, names: dict[str, str]) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if field == "former_names" and isinstance(value, list):
        return "、".join(str(name) for name in value)
    if field == "ethnicity":
        return _ethnicity(str(value))
    if field == "relation_to_head":
        return _label(Relation, str(value))
    if field == "status":
        return _mapped(PERSON_STATUS_LABELS, str(value))
    if field in ("birthplace_code", "division_code"):
        return _division(str(value), names)
    return str(value)


def _person_context(user: User, view: selectors.PersonView, purpose: str) -> dict[str, Any]:
    """The record, its history and the operations it allows, with every label in the active language."""
    history = selectors_pages.person_history(user, view, purpose=purpose)
    codes = [view["division_code"], view["birthplace_code"]]
    for version in history:
        codes.extend(
            str(version["values"].get(field) or "") for field in ("division_code", "birthplace_code")
        )
    names = _division_names(codes)
    masked = view["masked"]
    rows = [
        _row(_("ID number"), view["id_number"]),
        _row(str(PERSON_NAME_LABEL), view["name"]),
        _row(_("Former names"), "、".join(view["former_names"]) or "—", hidden=masked),
        _row(_("Gender"), _mapped(GENDER_LABELS, view["gender"])),
        _row(_("Ethnic group"), _ethnicity(view["ethnicity"])),
        _row(_("Birth date"), view["birth_date"], hidden=masked),
        _row(_("Birthplace"), _division(view["birthplace_code"], names)),
        _row(_("Household number"), view["household_no"]),
        _row(_("Division"), _division(view["division_code"], names)),
        _row(_("Address"), view["address"], hidden=masked),
        _row(_("Relation to the head of household"), _label(Relation, view["relation_to_head"])),
    ]
    if view["died_on"]:
        rows.append(_row(_("Date of death"), view["died_on"]))
    person_id = view["person_id"]
    status = view["status"]
    operations: list[tuple[str, str]] = []
    if status != PersonStatus.DECEASED:
        operations.append(
            (_("Transfer to another household"), reverse("registry:person_transfer", args=[person_id]))
        )
    if status == PersonStatus.ACTIVE:
        operations.append((_("Register the death"), reverse("registry:person_death", args=[person_id])))
        operations.append((_("Change the name"), reverse("registry:person_rename", args=[person_id])))
    operations.append((_("Correct an error"), reverse("registry:person_correct", args=[person_id])))
    return {
        "person": view,
        "masked": masked,
        "rows": rows,
        "status_label": _mapped(PERSON_STATUS_LABELS, status),
        "status_tag": PERSON_STATUS_TAGS.get(status, ""),
        "history": [
            {
                **version,
                "kind_label": _label(VersionKind, version["kind"]),
                "changed_labels": [
                    str(PERSON_FIELD_LABELS.get(field, field)) for field in version["changed"]
                ],
                "value_rows": [
                    (str(PERSON_FIELD_LABELS.get(field, field)), _history_value(field, value, names))
                    for field, value in version["values"].items()
                ],
            }
            for version in history
        ],
        "operations": operations,
        "purpose": purpose,
    }


@require_http_methods(["GET", "POST"])
@never_cache
@population_handler
def person_lookup(request: HttpRequest) -> HttpResponse:
    """Look a person up by ID number (POST, so the number stays out of URLs), masked unless a full view is
    asked for with the tracking number of a case the department is working on."""
    user = _user(request)
    form = PersonLookupForm(request.POST or None)
    context: dict[str, Any] = {"result": None}
    status = 200
    if request.method == "POST" and form.is_valid():
        purpose = form.text("purpose").strip()
        try:
            view = selectors.person_by_id_number(
                user, form.text("id_number"), purpose=purpose, full=bool(form.cleaned_data["full"])
            )
        except Http404:
            form.add_error(
                "id_number",
                in_language(
                    "户籍登记中没有该身份证号码的人员。", "No person with this ID number is in the register."
                ),
            )
            status = 404
        except RuleViolation as refused:
            form.add_refusal(refused)
            status = _refusal_status(refused)
        else:
            context["result"] = _person_context(user, view, purpose)
            # The number typed is not sent back: a masked answer must not carry it in the page.
            form = PersonLookupForm(initial={"purpose": purpose})
    return _render(request, "registry/person_lookup.html", form, context, status)


@require_http_methods(["GET", "POST"])
@never_cache
@population_handler
def person_detail(request: HttpRequest, person_id: int) -> HttpResponse:
    """A person's record (masked) and history; POST with a purpose shows it in full (audited)."""
    user = _user(request)
    form = FullViewForm(request.POST or None)
    status = 200
    view: selectors.PersonView | None = None
    purpose = ""
    if request.method == "POST" and form.is_valid():
        purpose = form.text("purpose").strip()
        try:
            view = selectors_pages.person_by_id(user, person_id, purpose=purpose, full=True)
        except RuleViolation as refused:
            form.add_refusal(refused)
            status = _refusal_status(refused)
            purpose = ""
    if view is None:
        view = selectors_pages.person_by_id(user, person_id)
    if view["person_id"] != person_id and request.method == "GET":
        # Another record holds this ID number and is active: that is the person now.
        return redirect("registry:person", person_id=view["person_id"])
    return _render(request, "registry/person_detail.html", form, _person_context(user, view, purpose), status)


class Operation(TypedDict):
    title: str
    intro: str
    button: str
    warning: bool


OPERATIONS: dict[str, Callable[[], Operation]] = {
    "transfer": lambda: Operation(
        title=_("Transfer to another household"),
        intro=_("Moves the person out of their household and into another (迁出 and 迁入 as one change)."),
        button=_("Transfer"),
        warning=False,
    ),
    "death": lambda: Operation(
        title=_("Register the death"),
        intro=_("Deregisters the person (死亡注销). The record and its history are kept."),
        button=_("Register the death"),
        warning=True,
    ),
    "rename": lambda: Operation(
        title=_("Change the name"),
        intro=_("The current name becomes a former name."),
        button=_("Change the name"),
        warning=False,
    ),
    "correct": lambda: Operation(
        title=_("Correct an error"),
        intro=_(
            "Fill in only what is wrong. Gender and birth date follow the ID number and are not corrected "
            "here."
        ),
        button=_("Correct the record"),
        warning=False,
    ),
}


def _operation_page(
    request: HttpRequest,
    person_id: int,
    kind: str,
    form: RegistryForm,
    run: Callable[[User, str, RegistryForm], Person],
    success: str,
) -> HttpResponse:
    """Show the operation's form above the person's masked record; on a valid POST run the action and go
    back to the person, or show the action's refusal next to the fields."""
    user = _user(request)
    status = 200
    if request.method == "POST" and form.is_valid():
        person = selectors_pages.person_for_operation(user, person_id)
        try:
            changed = run(user, person.id_number, form)
        except (RuleViolation, FieldErrors) as refused:
            form.add_refusal(refused)
            status = _refusal_status(refused)
        else:
            messages.success(request, success)
            return redirect("registry:person", person_id=changed.pk)
    view = selectors_pages.person_by_id(user, person_id)
    context = {
        "operation": OPERATIONS[kind](),
        "person": view,
        "status_label": _mapped(PERSON_STATUS_LABELS, view["status"]),
        "status_tag": PERSON_STATUS_TAGS.get(view["status"], ""),
    }
    return _render(request, "registry/person_operation.html", form, context, status)


@require_http_methods(["GET", "POST"])
@never_cache
@population_handler
def person_birth(request: HttpRequest) -> HttpResponse:
    """Register a birth (出生登记) into an existing or a new household."""
    user = _user(request)
    form = BirthForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            person = actions.person_birth_register(
                acting_user=user,
                id_number=form.text("id_number"),
                name=form.text("name"),
                gender=form.text("gender"),
                ethnicity=form.text("ethnicity"),
                birth_date=form.cleaned_data["birth_date"],
                birthplace_code=form.text("birthplace_code"),
                household_no=form.text("household_no"),
                relation_to_head=form.text("relation_to_head"),
                division_code=form.text("division_code"),
                address=form.text("address"),
                case_tracking_no=form.text("case_tracking_no"),
            )
        except (RuleViolation, FieldErrors) as refused:
            form.add_refusal(refused)
            status = _refusal_status(refused)
        else:
            messages.success(request, _("The birth is registered."))
            return redirect("registry:person", person_id=person.pk)
    return _render(request, "registry/person_birth.html", form, {}, status)


def _transfer(user: User, id_number: str, form: RegistryForm) -> Person:
    return actions.person_transfer(
        acting_user=user,
        id_number=id_number,
        household_no=form.text("household_no"),
        relation_to_head=form.text("relation_to_head"),
        division_code=form.text("division_code"),
        address=form.text("address"),
        effective_on=form.cleaned_data.get("effective_on"),
        case_tracking_no=form.text("case_tracking_no"),
    )


def _death(user: User, id_number: str, form: RegistryForm) -> Person:
    return actions.person_death_register(
        acting_user=user,
        id_number=id_number,
        died_on=form.cleaned_data["died_on"],
        case_tracking_no=form.text("case_tracking_no"),
    )


def _rename(user: User, id_number: str, form: RegistryForm) -> Person:
    return actions.person_rename(
        acting_user=user,
        id_number=id_number,
        new_name=form.text("new_name"),
        effective_on=form.cleaned_data.get("effective_on"),
        case_tracking_no=form.text("case_tracking_no"),
    )


def _correct(user: User, id_number: str, form: RegistryForm) -> Person:
    assert isinstance(form, CorrectForm)  # noqa: S101 - the view passes its own form
    return actions.person_correct(
        acting_user=user,
        id_number=id_number,
        corrections=form.corrections(),
        reason=form.text("reason"),
        case_tracking_no=form.text("case_tracking_no"),
    )


@require_http_methods(["GET", "POST"])
@never_cache
@population_handler
def person_transfer(request: HttpRequest, person_id: int) -> HttpResponse:
    return _operation_page(
        request,
        person_id,
        "transfer",
        TransferForm(request.POST or None),
        _transfer,
        _("The transfer is registered."),
    )


@require_http_methods(["GET", "POST"])
@never_cache
@population_handler
def person_death(request: HttpRequest, person_id: int) -> HttpResponse:
    return _operation_page(
        request, person_id, "death", DeathForm(request.POST or None), _death, _("The death is registered.")
    )


@require_http_methods(["GET", "POST"])
@never_cache
@population_handler
def person_rename(request: HttpRequest, person_id: int) -> HttpResponse:
    return _operation_page(
        request,
        person_id,
        "rename",
        RenameForm(request.POST or None),
        _rename,
        _("The change of name is registered."),
    )


@require_http_methods(["GET", "POST"])
@never_cache
@population_handler
def person_correct(request: HttpRequest, person_id: int) -> HttpResponse:
    return _operation_page(
        request,
        person_id,
        "correct",
        CorrectForm(request.POST or None),
        _correct,
        _("The correction is registered."),
    )


# --- Legal-entity register ----------------------------------------------------------------------------


def _authority(code: str) -> str:
    """The registration authority's name in the active language, with its code; the code alone if unknown."""
    department = department_by_code(code) if code else None
    if department is None:
        return code
    name = department.name_en if is_english() and department.name_en else department.name
    return f"{name} ({department.code})"


def _entity_history(user: User, entity: LegalEntity) -> list[dict[str, Any]]:
    return [
        {
            **version,
            "kind_label": _label(EntityVersionKind, version["kind"]),
            "changed_labels": [str(ENTITY_FIELD_LABELS.get(field, field)) for field in version["changed"]],
        }
        for version in selectors_pages.entity_history(user, entity)
    ]


def _entity_context(request: HttpRequest, public: entities.EntityPublicView) -> dict[str, Any]:
    """The public basic information; for market-regulation handlers also the whole registration, its
    history and the changes it allows."""
    context: dict[str, Any] = {
        "entity": public,
        "type_label": _label(EntityType, public["type"]),
        "authority_label": _authority(public["registration_authority"]),
        "status_label": _mapped(ENTITY_STATUS_LABELS, public["status"]),
        "status_tag": ENTITY_STATUS_TAGS.get(public["status"], ""),
        "staff": None,
    }
    if not _is_entity_handler(request):
        return context
    user = _user(request)
    entity = selectors_pages.entity_for_registrar(user, public["credit_code"])
    names = _division_names([entity.division_code])
    context["staff"] = {
        "rows": [
            (_("Division"), _division(entity.division_code, names)),
            (_("Address"), entity.address or "—"),
            (
                _("Registered capital (10,000 yuan)"),
                f"{entity.registered_capital.normalize():f}"
                if entity.registered_capital is not None
                else "—",
            ),
            (_("Business scope"), entity.business_scope or "—"),
            (
                _("Legal representative"),
                pgettext("legal representative", "Recorded") if entity.legal_rep_index else _("Not recorded"),
            ),
        ],
        "history": _entity_history(user, entity),
        "active": entity.status == EntityStatus.ACTIVE,
    }
    return context


@require_safe
def entity_lookup(request: HttpRequest) -> HttpResponse:
    """Anyone: the public basic information of an entity by its credit code (企业信息公示)."""
    form = EntityLookupForm(request.GET or None)
    context: dict[str, Any] = {"result": None, "is_entity_handler": _is_entity_handler(request)}
    status = 200
    if request.GET and form.is_valid():
        try:
            public = entities.entity_public(form.text("credit_code"))
        except RuleViolation as refused:
            form.add_error("credit_code", in_language(refused.message_zh, refused.message_en))
            status = 404
        else:
            context["result"] = _entity_context(request, public)
    return _render(request, "registry/entity_lookup.html", form, context, status)


@require_safe
def entity_detail(request: HttpRequest, credit_code: str) -> HttpResponse:
    """Anyone: one entity's public basic information (and more for market-regulation handlers)."""
    try:
        public = entities.entity_public(credit_code)
    except RuleViolation:
        raise Http404("entity") from None
    form = EntityLookupForm(initial={"credit_code": public["credit_code"]})
    context = {"result": _entity_context(request, public), "is_entity_handler": _is_entity_handler(request)}
    return _render(request, "registry/entity_lookup.html", form, context)


def _entity(request: HttpRequest, credit_code: str) -> LegalEntity:
    try:
        return selectors_pages.entity_for_registrar(_user(request), credit_code)
    except RuleViolation as refused:
        raise Http404(str(refused.code)) from None


def _multiline(text: str) -> str:
    # Browsers send textarea lines with CRLF; the register keeps LF, so an untouched text is no change.
    return text.replace("\r\n", "\n")


@require_http_methods(["GET", "POST"])
@entity_handler
def entity_register(request: HttpRequest) -> HttpResponse:
    """Register a new legal entity (设立登记) with the credit code assigned to it."""
    user = _user(request)
    form = EntityRegisterForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            entity = entities.entity_register(
                acting_user=user,
                credit_code=form.text("credit_code"),
                name=form.text("name"),
                type=form.text("type"),
                division_code=form.text("division_code"),
                legal_rep_id_number=form.text("legal_rep_id_number"),
                registered_capital=form.text("registered_capital") or None,
                address=form.text("address"),
                business_scope=_multiline(form.text("business_scope")),
                established_on=form.cleaned_data.get("established_on"),
                case_tracking_no=form.text("case_tracking_no"),
            )
        except (RuleViolation, FieldErrors) as refused:
            form.add_refusal(refused)
            status = _refusal_status(refused)
        else:
            messages.success(request, _("The entity is registered."))
            return redirect("registry:entity", credit_code=entity.credit_code)
    return _render(request, "registry/entity_register.html", form, {}, status)


def _entity_page_context(request: HttpRequest, entity: LegalEntity) -> dict[str, Any]:
    return {
        "entity": entity,
        "status_label": _mapped(ENTITY_STATUS_LABELS, entity.status),
        "status_tag": ENTITY_STATUS_TAGS.get(entity.status, ""),
        "history": _entity_history(_user(request), entity),
    }


@require_http_methods(["GET", "POST"])
@entity_handler
def entity_change(request: HttpRequest, credit_code: str) -> HttpResponse:
    """Change an active entity's registration (变更登记); the form starts from the current values."""
    user = _user(request)
    entity = _entity(request, credit_code)
    initial = {
        "name": entity.name,
        "address": entity.address,
        "registered_capital": f"{entity.registered_capital.normalize():f}"
        if entity.registered_capital is not None
        else "",
        "business_scope": entity.business_scope,
    }
    form = EntityChangeForm(request.POST or None, initial=initial)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            entities.entity_change(
                acting_user=user,
                credit_code=entity.credit_code,
                name=form.text("name"),
                address=form.text("address"),
                registered_capital=form.text("registered_capital") or None,
                business_scope=_multiline(form.text("business_scope")),
                legal_rep_id_number=form.text("legal_rep_id_number") or None,
                case_tracking_no=form.text("case_tracking_no"),
            )
        except (RuleViolation, FieldErrors) as refused:
            form.add_refusal(refused)
            status = _refusal_status(refused)
        else:
            messages.success(request, _("The change of registration is registered."))
            return redirect("registry:entity", credit_code=entity.credit_code)
    return _render(
        request, "registry/entity_change.html", form, _entity_page_context(request, entity), status
    )


@require_http_methods(["GET", "POST"])
@entity_handler
def entity_cancel(request: HttpRequest, credit_code: str) -> HttpResponse:
    """Cancel an active entity's registration (注销登记), with a reason."""
    user = _user(request)
    entity = _entity(request, credit_code)
    form = EntityCancelForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            entities.entity_cancel(
                acting_user=user,
                credit_code=entity.credit_code,
                reason=_multiline(form.text("reason")),
                case_tracking_no=form.text("case_tracking_no"),
            )
        except (RuleViolation, FieldErrors) as refused:
            form.add_refusal(refused)
            status = _refusal_status(refused)
        else:
            messages.success(request, _("The cancellation is registered."))
            return redirect("registry:entity", credit_code=entity.credit_code)
    return _render(
        request, "registry/entity_cancel.html", form, _entity_page_context(request, entity), status
    )
