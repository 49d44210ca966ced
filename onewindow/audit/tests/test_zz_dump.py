import pytest
from onewindow.audit.actions import audit_append
@pytest.mark.django_db
def test_dump(role_users, client_for):
    audit_append(action="case.accepted", acting_user=role_users["window_clerk"], object_type="case", object_id=1, details={"a": "中文"})
    c = client_for(role_users["auditor"])
    html = c.get("/audit/", {"action": "case.", "date_from": "2026-13-01"}).content.decode()
    s = html.index("<main"); print(html[s:s+4000])
    html = c.get("/audit/", {"action": "case."}).content.decode()
    s = html.index("<table"); print(html[s:s+2500])
