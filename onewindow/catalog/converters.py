"""The ``rescode`` path converter: a resource code (``101001/000001``) in a URL, slash included."""

from __future__ import annotations

from django.urls import register_converter

from onewindow.catalog.codes import RESOURCE_CODE_PATTERN


class ResourceCodeConverter:
    regex = RESOURCE_CODE_PATTERN

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ResourceCodeConverter, "rescode")
