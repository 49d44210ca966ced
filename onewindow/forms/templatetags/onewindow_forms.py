"""``{% render_form schema data errors prefilled %}`` and ``{% form_error_summary errors %}``."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django import template
from django.utils.safestring import SafeString

from onewindow.core.errors import FieldError
from onewindow.forms.render import error_summary, render_form

register = template.Library()


@register.simple_tag(name="render_form")
def render_form_tag(
    schema: dict[str, Any],
    data: dict[str, Any] | None = None,
    errors: list[FieldError] | None = None,
    prefilled: Collection[str] = (),
    *,
    prefix: str = "",
    readonly: Collection[str] = (),
) -> SafeString:
    """The schema's fields; see :func:`onewindow.forms.render.render_form`."""
    return render_form(
        schema, data or {}, errors or [], prefilled=prefilled or (), prefix=prefix, readonly=readonly or ()
    )


@register.simple_tag(name="form_error_summary")
def form_error_summary_tag(errors: list[FieldError] | None, *, prefix: str = "") -> SafeString:
    """The GOV.UK error summary for ``errors`` (nothing when there are none)."""
    return error_summary(errors or [], prefix=prefix)
