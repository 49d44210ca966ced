"""Notifications shown in the user's account (and sent by e-mail / SMS after the transaction commits)."""

from __future__ import annotations

from django.db import models


class Notification(models.Model):
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=40)
    title = models.CharField(max_length=200)
    title_en = models.CharField(max_length=200, blank=True)
    body = models.TextField(blank=True)
    body_en = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    # The object it is about, e.g. ("application", "<tracking no>").
    object_type = models.CharField(max_length=40, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at", "-created_at"], name="notification_user_idx")]

    def __str__(self) -> str:
        return f"{self.kind} for {self.user_id}"
