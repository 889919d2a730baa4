"""The agent console's offer card in a real browser, with an outside CRM that answers slowly: the card
comes at once, saying the caller's details are still being looked up, and fills in where it is (name,
company, tier) as soon as the CRM answers, before the agent accepts, without a reload; an offer the
agent rejects says so plainly, with no warning about an offer "withdrawn (reject)"; the agent's own
status badge says an offer is waiting while it is.

Headless Chromium (Debian's `chromium`, driven by Playwright) against the real service and the
Twilio simulator; the CRM is a local HTTP stand-in (tests/test_screenpop_fixtures.FakeCrm)."""
from __future__ import annotations

import time

import pytest

from tests.browser import WatchedPage, build_bundle, chromium
from tests.conftest import E2E_REDIS_URL as REDIS_URL
from tests.live_service import live_service, point_number, simulated_twilio
from tests.test_screenpop_fixtures import CONTACT, FakeCrm
from twiliosim import CallerScript, Press

TOKEN = "popfill-auth-token-" + "p" * 16
SID = "AC" + "d" * 32
ADMIN = "popfill-admin"
PASSWORD = "tess-popfill-password"
NUMBER = "+15005550006"
CALLER = "+14155550100"
CRM_DELAY_S = 2.0


@pytest.fixture(scope="module")
def crm():
    fake = FakeCrm()
    fake.answers[CALLER] = (200, CONTACT, CRM_DELAY_S)
    yield fake
    fake.close()


@pytest.fixture(scope="module")
def sim():
    with simulated_twilio(SID, TOKEN, time_scale=0.02) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def service(tmp_path_factory, sim, crm):
    build_bundle("agent.js")

    def adjust(config):
        config["agents"].append({"id": "tess", "name": "Tess Ortiz", "skills": {"billing": 5}, "timezone": "UTC"})
        config["users"].append({"username": "tess", "role": "agent", "agent": "tess", "password": PASSWORD})
        config["queues"]["billing"].update(offer_timeout_s=30)

    with live_service(tmp_path_factory.mktemp("popfill"), account_sid=SID, auth_token=TOKEN, admin_token=ADMIN,
                      api_url=sim.rest_url, redis_url=REDIS_URL, adjust_config=adjust,
                      env={"CRM_URL": crm.url, "CRM_TIMEOUT_S": "5"}) as (url, _log, _config):
        point_number(sim, NUMBER, url)
        yield url


def signed_in_available(browser, service: str, tmp_path):
    """Tess's console, signed in and available: the watched page."""
    from playwright.sync_api import expect

    watched = WatchedPage(browser, tmp_path, 1100, 1100)
    page = watched.page
    page.goto(f"{service}/agent")
    page.fill("#username", "tess")
    page.fill("#password", PASSWORD)
    page.click("#login")
    expect(page.locator("#stream")).to_have_text("Events: live", timeout=10_000)
    page.click("#btn-available")
    expect(page.locator("#status-pill")).to_have_attribute("data-status", "available")
    return watched


def test_the_offer_card_fills_in_when_a_slow_crm_answers(service, sim, tmp_path):
    from playwright.sync_api import expect

    with chromium() as browser:
        watched = signed_in_available(browser, service, tmp_path)
        page = watched.page
        call = sim.dial(NUMBER, CALLER, CallerScript(inputs=[Press("1")], patience=3000))
        offer = page.locator("#offer")
        expect(offer).to_be_visible(timeout=15_000)
        expect(offer).to_contain_text("still being looked up")            # the CRM has not answered yet
        expect(page.locator("#status-pill")).to_have_text("Offer waiting")  # not "Available" any more
        watched.shot("1-offer-before-the-crm")
        expect(offer.locator(".company")).to_have_text("Globex", timeout=(CRM_DELAY_S + 5) * 1000)
        expect(offer.locator(".contact-name")).to_have_text("Dana Reyes")
        expect(offer.locator(".badge.tier")).to_have_text("VIP")
        expect(offer).not_to_contain_text("still being looked up")
        expect(page.locator("#accept")).to_be_enabled()                    # the offer itself is untouched
        watched.shot("2-offer-filled-in")
        assert not watched.errors, watched.errors
        call.hang_up("caller")


def test_an_offer_the_agent_rejects_says_rejected_without_a_warning(service, sim, tmp_path):
    from playwright.sync_api import expect

    with chromium() as browser:
        watched = signed_in_available(browser, service, tmp_path)
        page = watched.page
        call = sim.dial(NUMBER, "+12125550188", CallerScript(inputs=[Press("1")], patience=3000))  # not in the CRM
        expect(page.locator("#offer")).to_be_visible(timeout=15_000)
        # this caller's offer, not the last test's (its caller hung up: that offer's cancel may be on its way)
        expect(page.locator("#offer .e164")).to_contain_text("+12125550188", timeout=15_000)

        def slow_answer(route):                        # as on a slow network: the stream's offer_canceled
            response = route.fetch()                   # comes before the reject's own answer
            time.sleep(1.0)
            route.fulfill(response=response)
        page.route("**/api/reservations/*/reject", slow_answer)
        page.click("#reject")
        flash = page.locator("#flash")
        expect(flash).to_have_text("Offer rejected.")
        page.wait_for_timeout(1500)                    # the offer_canceled event has come and gone
        expect(flash).to_have_text("Offer rejected.")
        assert flash.get_attribute("data-kind") != "warn"
        expect(page.locator("#offer")).to_be_hidden()
        expect(page.locator("#status-pill")).to_have_text("Available")      # free again after the reject
        watched.shot("3-rejected")
        assert not watched.errors, watched.errors
        call.hang_up("caller")


def test_an_accept_twilio_cannot_connect_says_why_and_that_it_is_no_miss(service, sim, tmp_path):
    from playwright.sync_api import expect

    with chromium() as browser:
        watched = signed_in_available(browser, service, tmp_path)
        page = watched.page
        call = sim.dial(NUMBER, "+12125550177", CallerScript(inputs=[Press("1")], patience=3000))
        expect(page.locator("#offer")).to_be_visible(timeout=15_000)
        expect(page.locator("#offer .e164")).to_contain_text("+12125550177", timeout=15_000)     # this caller's
        sim.rest_down = True                          # Twilio's REST API fails as the agent accepts
        try:
            page.click("#accept")
            flash = page.locator("#flash")
            expect(flash).to_contain_text("The call could not be connected", timeout=10_000)
            expect(flash).to_contain_text("does not count as your miss")
            expect(page.locator("#offer")).to_be_hidden()
            expect(page.locator("#status-pill")).to_have_text("Available")
            watched.shot("4-accept-failed")
        finally:
            sim.rest_down = False
        assert not watched.errors, watched.errors
        call.hang_up("caller")
