"""Calendar pages under /admin/calendar/: years, a year's days, import with preview, deadline computation."""

from __future__ import annotations

import base64
import binascii
from typing import Any, cast

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from onewindow.accounts.models import User
from onewindow.accounts.permissions import permission_required
from onewindow.accounts.roles import Permission
from onewindow.workcalendar.actions import calendar_import
from onewindow.workcalendar.calendar import explain_add_working_days
from onewindow.workcalendar.forms import ComputeForm, ImportConfirmForm, ImportUploadForm
from onewindow.workcalendar.importing import (
    MAX_YEAR,
    MIN_YEAR,
    CalendarImportError,
    ParsedImport,
    parse_import_file,
)
from onewindow.workcalendar.models import Source
from onewindow.workcalendar.selectors import calendar_days_for_user, calendar_year_for_user, year_summaries


@permission_required(Permission.MANAGE_SYSTEM)
def year_list(request: HttpRequest) -> HttpResponse:
    summaries = year_summaries(request.user)
    return render(
        request,
        "workcalendar/years.html",
        {"summaries": summaries, "missing": [summary.year for summary in summaries if summary.missing]},
    )


@permission_required(Permission.MANAGE_SYSTEM)
def year_detail(request: HttpRequest, year: int) -> HttpResponse:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise Http404
    return render(
        request,
        "workcalendar/year.html",
        {
            "year": year,
            "record": calendar_year_for_user(request.user, year),
            "days": calendar_days_for_user(request.user, year),
        },
    )


def _preview(
    request: HttpRequest, parsed: ParsedImport, *, content: bytes, filename: str, note: str
) -> HttpResponse:
    existing = calendar_year_for_user(request.user, parsed.year) if parsed.year is not None else None
    confirm = ImportConfirmForm(
        initial={
            "payload": base64.b64encode(content).decode("ascii"),
            "filename": filename,
            "year": parsed.year,
            "note": note,
        }
    )
    return render(
        request,
        "workcalendar/import_preview.html",
        {"parsed": parsed, "filename": filename, "note": note, "existing": existing, "confirm": confirm},
        status=200 if parsed.ok else 422,
    )


@permission_required(Permission.MANAGE_SYSTEM)
def import_file(request: HttpRequest) -> HttpResponse:
    """Upload → preview (every problem by line) → confirm; the file is parsed again on confirmation."""
    acting_user = cast(User, request.user)
    if request.method == "POST" and "payload" in request.POST:
        confirm = ImportConfirmForm(request.POST)
        if not confirm.is_valid():
            return render(request, "workcalendar/import.html", {"form": ImportUploadForm()}, status=400)
        try:
            content = base64.b64decode(confirm.cleaned_data["payload"], validate=True)
        except (binascii.Error, ValueError):
            return render(request, "workcalendar/import.html", {"form": ImportUploadForm()}, status=400)
        filename = confirm.cleaned_data["filename"]
        note = confirm.cleaned_data["note"]
        parsed = parse_import_file(content, filename=filename, year=confirm.cleaned_data["year"])
        if not parsed.ok or parsed.year is None:
            return _preview(request, parsed, content=content, filename=filename, note=note)
        try:
            result = calendar_import(
                rows=parsed.rows, year=parsed.year, source=Source.IMPORT, acting_user=acting_user, note=note
            )
        except CalendarImportError:
            return _preview(request, parsed, content=content, filename=filename, note=note)
        messages.success(
            request,
            _("Loaded %(year)s: %(holidays)s holidays and %(workdays)s make-up working days.")
            % {"year": result.year, "holidays": result.holidays, "workdays": result.workdays},
        )
        return redirect("workcalendar:year", year=result.year)

    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        uploaded = form.cleaned_data["file"]
        content = uploaded.read()
        parsed = parse_import_file(content, filename=uploaded.name or "", year=form.cleaned_data["year"])
        return _preview(
            request, parsed, content=content, filename=uploaded.name or "", note=form.cleaned_data["note"]
        )
    return render(request, "workcalendar/import.html", {"form": form}, status=400 if form.errors else 200)


@permission_required(Permission.VIEW_WORKBENCH)
def compute(request: HttpRequest) -> HttpResponse:
    """Start date + N working days → due date, with every day explained (GET: nothing is written)."""
    form = ComputeForm(request.GET if "start" in request.GET else None)
    context: dict[str, Any] = {"form": form}
    if form.is_bound and form.is_valid():
        context["explanation"] = explain_add_working_days(
            form.cleaned_data["start"], form.cleaned_data["days"]
        )
    return render(request, "workcalendar/compute.html", context, status=400 if form.errors else 200)
