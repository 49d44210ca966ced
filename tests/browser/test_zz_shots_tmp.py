import pytest
from browser.conftest import MOBILE

@pytest.mark.browser
def test_shots(open_browser, role_users):
    for name, user, path in [("home", None, "/"), ("workbench", role_users["system_admin"], "/workbench/")]:
        for vp_name, vp in [("desktop", None), ("375", MOBILE)]:
            s = open_browser(user, viewport=vp)
            s.page.goto(path)
            s.page.screenshot(path=f"/tmp/ow_shots/{name}-{vp_name}.png", full_page=True)
    s = open_browser(None, large_text=True, viewport=MOBILE); s.page.goto("/"); s.page.screenshot(path="/tmp/ow_shots/home-375-large.png", full_page=True)
    s = open_browser(role_users["resident"], language="en"); s.page.goto("/resident/"); s.page.screenshot(path="/tmp/ow_shots/resident-en.png", full_page=True)
    s = open_browser(None); s.page.goto("/nope/"); s.page.screenshot(path="/tmp/ow_shots/404.png", full_page=True)
