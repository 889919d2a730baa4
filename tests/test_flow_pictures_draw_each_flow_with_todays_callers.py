"""Each IVR flow drawn from the config (ivr/diagram.py): a box per node with its kind and what it
says or does, an arrow per way on labelled with the menu's keys and words, rows by distance from the
start; today's callers through each node and where they hung up, counted from the call records; the
page at /flows for admins."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

from contactcenter.config import load_config
from ivr import diagram
from store.records import upsert_call_record
from tests.people import PASSWORD, make_user, page_login

DEMO = load_config("config/demo.yaml")
SVG = "{http://www.w3.org/2000/svg}"


def test_the_demo_menu_is_laid_out_from_its_start_with_labelled_arrows():
    flow = DEMO.flows["main"]
    at = diagram.layout(flow, DEMO)
    assert at["welcome"] == (0, 0) and at["open_check"][0] == 1 and at["menu"][0] == 2
    assert {at[n][0] for n in ("billing_q", "tech_q", "sales_q", "voicemail", "tech_callback")} == {3}
    labels = dict((t, label) for label, t in diagram.edges(flow.nodes["menu"], DEMO))
    assert labels["billing_q"] == "on fail / 1 / billing / refund / agent" and labels["voicemail"] == "9 / message"
    assert ("overflow", "voicemail") in diagram.edges(flow.nodes["sales_q"], DEMO)


def test_the_picture_is_well_formed_svg_with_the_counts_and_nothing_unescaped():
    flow = DEMO.flows["main"]
    text = diagram.svg(flow, DEMO, {"menu": {"callers": 12, "hung_up": 2}, "billing_q": {"callers": 7, "hung_up": 1}})
    root = ET.fromstring(text)                                 # parses: every text escaped
    nodes = {g.get("data-node"): g for g in root.iter(f"{SVG}g")}
    assert set(nodes) == set(flow.nodes)
    assert nodes["menu"].get("data-callers") == "12" and nodes["menu"].get("data-hung-up") == "2"
    words = " ".join("".join(t.itertext()) for t in nodes["menu"].iter(f"{SVG}text"))
    assert "Menu" in words and "12 today · 2 hung up here" in words
    assert len([e for e in root.iter(f"{SVG}path") if e.get("class") == "edge"]) >= 10
    assert "<script" not in text


def test_todays_callers_and_hang_ups_are_counted_per_node(app, clock):
    rt = app.extensions["callrouter"]
    at = datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc)
    with rt.sessions() as db:
        for i, (path, outcome) in enumerate([(["welcome", "open_check", "menu", "billing_q"], "answered"),
                                             (["welcome", "open_check", "menu", "menu"], "ivr_hangup"),
                                             (["welcome", "open_check", "menu", "billing_q"], "abandoned")]):
            upsert_call_record(db, {"call_sid": f"CA{i:032d}", "workspace": "acme", "flow": "main", "arrived_at": at,
                                    "ivr_path": path, "outcome": outcome})
        db.commit()
    counts = rt.reports.flow_counts("main")
    assert counts["menu"] == {"callers": 3, "hung_up": 1}                 # twice through the menu: one caller
    assert counts["billing_q"] == {"callers": 2, "hung_up": 1}
    assert counts["welcome"] == {"callers": 3, "hung_up": 0}


def test_admins_see_the_flows_page_and_supervisors_do_not(app):
    make_user(app, "root", "admin")
    make_user(app, "sam", "supervisor")
    admin, boss = app.test_client(), app.test_client()
    assert page_login(admin, "/supervisor", "root", PASSWORD).status_code == 303
    html = admin.get("/flows").get_data(as_text=True)
    assert re.search(r'<section class="card flow-card" data-flow="main">', html)
    assert html.count("<svg") == len(DEMO.flows) and 'id="nav-flows"' in html
    assert page_login(boss, "/supervisor", "sam", PASSWORD).status_code == 303
    assert boss.get("/flows").status_code == 403
    assert 'id="nav-flows"' not in boss.get("/supervisor").get_data(as_text=True)
