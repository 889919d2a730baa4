"""What the screen pop test modules share: a fake outside CRM on 127.0.0.1 (`fake_crm`), a
Twilio tester on the staffed app (`tw`), the call-context request, and the caller, clock and
contact they use. This module holds no tests.

The tests: test_screenpop_crm_adapters_check_what_the_crm_answers,
test_screenpop_pop_shows_the_contact_history_and_journey,
test_screenpop_prefetch_job_gathers_the_caller_context,
test_screenpop_vip_priority_and_who_may_read_the_context."""
from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import AUTH_TOKEN
from tests.twilio import TwilioTester

ADMIN = {"Authorization": "Bearer test-admin-token"}
DANA = "+14155550100"
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)      # the conftest clock


class FakeCrm:
    """An outside CRM on 127.0.0.1: answers per caller number (`?phone=`), as told.

    `answers[number] = (status, body, delay_s)`; other numbers get 404. `trickle` sends the body a
    byte at a time, `delay_s` apart. Every request is kept (path, headers)."""

    def __init__(self):
        self.answers: dict[str, tuple[int, bytes | str | dict | None, float]] = {}
        self.requests: list[tuple[str, dict]] = []
        self.trickle = False
        crm = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                crm.requests.append((self.path, dict(self.headers)))
                number = (parse_qs(urlsplit(self.path).query).get("phone") or [""])[0]
                status, body, delay = crm.answers.get(number, (404, b"", 0.0))
                if isinstance(body, (dict, list)) or body is None:
                    body = json.dumps(body)
                body = body.encode() if isinstance(body, str) else body
                if not crm.trickle:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    for i in range(len(body)):
                        if crm.trickle:
                            time.sleep(delay)
                        self.wfile.write(body[i:i + 1] if crm.trickle else body[i:])
                        if not crm.trickle:
                            break
                except OSError:
                    pass                                    # the adapter gave up: fine

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/lookup?phone={{e164}}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_crm():
    crm = FakeCrm()
    yield crm
    crm.close()


CONTACT = {"id": "crm-7", "name": "Dana Reyes", "company": "Globex", "account_value": 125000, "tier": "vip",
           "notes": "<script>alert('x')</script> renewal", "tags": ["enterprise"], "extra": {"ignored": True}}


@pytest.fixture
def tw(staffed):
    return TwilioTester(staffed.test_client(), AUTH_TOKEN)


def _context(app, sid, headers=ADMIN):
    return app.test_client().get(f"/api/calls/{sid}/context", headers=headers)
