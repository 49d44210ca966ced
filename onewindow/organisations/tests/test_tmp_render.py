from django.urls import reverse
def test_show(role_users, client_for, divisions):
    c = client_for(role_users["system_admin"])
    r = c.post(reverse("organisations:department_create"), {"code": "psb", "name": "", "credit_code": "11350100003639483D", "division_code": "350100"})
    body = r.content.decode()
    start = body.index('<main'); print(body[start:start+6000])
