"""Auditor pages: search, record detail and CSV export (Permission.VIEW_AUDIT only)."""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from onewindow.accounts.permissions import permission_required
from onewindow.accounts.roles import Permission
from onewindow.audit.export import csv_response
from onewindow.audit.forms import AuditSearchForm
from onewindow.audit.selectors import audit_record_get, audit_records_export, audit_records_search
from onewindow.audit.verify import record_intact


def _query_without_cursor(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("before", None)
    return query.urlencode()


@require_GET
@permission_required(Permission.VIEW_AUDIT)
def record_search(request: HttpRequest) -> HttpResponse:
    form = AuditSearchForm(request.GET)
    page = None
    if form.is_valid():
        page = audit_records_search(
            user=request.user, filters=form.filters(), before_seq=form.cleaned_data["before"]
        )
    query = _query_without_cursor(request)
    return render(
        request,
        "audit/search.html",
        {
            "form": form,
            "page": page,
            "query": query,
            "is_first_page": not request.GET.get("before"),
        },
        status=200 if page is not None else 400,
    )


@require_GET
@permission_required(Permission.VIEW_AUDIT)
def record_detail(request: HttpRequest, seq: int) -> HttpResponse:
    record = audit_record_get(user=request.user, seq=seq)
    details_json = json.dumps(record.details, ensure_ascii=False, indent=2, sort_keys=True)
    return render(
        request,
        "audit/detail.html",
        {"record": record, "intact": record_intact(record), "details_json": details_json},
    )


@require_GET
@permission_required(Permission.VIEW_AUDIT)
def record_export(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    form = AuditSearchForm(request.GET)
    if not form.is_valid():
        return render(request, "audit/search.html", {"form": form, "page": None, "query": ""}, status=400)
    return csv_response(audit_records_export(user=request.user, filters=form.filters()))
