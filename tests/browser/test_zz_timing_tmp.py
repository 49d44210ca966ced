import time
import pytest
from browser.conftest import assert_accessible, session_cookie
from browser.pages import probe

@pytest.mark.browser
def test_timing(role_users, role_clients, open_browser):
    t=time.perf_counter()
    access = probe("/accessibility/", role_clients)
    t1=time.perf_counter()
    s = open_browser(session=session_cookie(role_clients[access.first_allowed_role]))
    t2=time.perf_counter()
    s.page.goto("/accessibility/")
    t3=time.perf_counter()
    assert_accessible(s.page, "x")
    t4=time.perf_counter()
    s.page.goto("/")
    t5=time.perf_counter()
    assert_accessible(s.page, "x")
    t6=time.perf_counter()
    print(f"\nprobe {t1-t:.2f} ctx {t2-t1:.2f} goto {t3-t2:.2f} axe {t4-t3:.2f} goto2 {t5-t4:.2f} axe2 {t6-t5:.2f}")
