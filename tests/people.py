"""People in tests: accounts made straight through the domain, and sign-ins through the pages'
forms as a browser would (the form's signed token, then username, password and code)."""
from __future__ import annotations

import re

PASSWORD = "a-long-test-password"


def make_user(app, username: str, role: str, agent_id: str | None = None, password: str = PASSWORD) -> dict:
    return app.extensions["callrouter"].accounts.create(username, password, role, agent_id)


def form_csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def page_login(client, page: str, username: str, password: str = PASSWORD, otp: str | None = None, **extra):
    """Sign in through /agent or /supervisor's form; the answer (303 on success)."""
    form = client.get(f"{page}/login" if page == "/supervisor" else page)
    data = {"csrf": form_csrf(form.get_data(as_text=True)), "username": username, "password": password, **extra}
    if otp is not None:
        data["otp"] = otp
    return client.post(f"{page}/login", data=data)
