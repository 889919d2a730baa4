"""Every Redis key name callrouter uses, built in this one place.

All keys of a workspace share the hash tag ``{workspace}`` so that one Lua
script may touch any of them and a Redis Cluster keeps one contact center
on one slot. The routing scripts (acd/lua) get the workspace's prefix as an
argument and append the same names; tests/test_keys.py proves that every
name the Lua spells is one of these methods.
"""
from __future__ import annotations

import re


class Keys:
    def __init__(self, workspace: str):
        self.workspace = workspace
        self.prefix = f"cr:{{{workspace}}}:"

    def call(self, call_sid: str) -> str:
        """hash: the live call (flow, node, caller, contact, tries, outcome, timestamps)."""
        return f"{self.prefix}call:{call_sid}"

    def journey(self, call_sid: str) -> str:
        """list of JSON steps: every node visited and every input, in order."""
        return f"{self.prefix}journey:{call_sid}"

    def caller_calls(self, number: str) -> str:
        """zset: a caller's calls of the last days (call sid -> arrival), for routing rules'
        `call.repeat_caller` and `call.calls_today`; kept eight days (store/lua/apply_turn.lua)."""
        return f"{self.prefix}caller-calls:{number}"

    def ivr_stats(self, day: str) -> str:
        """hash: the IVR's counters of one day (self_service) in the contact center's zone."""
        return f"{self.prefix}stats:ivr:{day}"

    def agent(self, agent_id: str) -> str:
        """hash: an agent's live state (status, since, on_shift, country) and profile for routing."""
        return f"{self.prefix}agent:{agent_id}"

    def agents(self) -> str:
        """set: ids of every agent mirrored from SQL."""
        return f"{self.prefix}agents"

    def idle(self) -> str:
        """zset: available agents on shift -> idle since (longest idle = lowest score)."""
        return f"{self.prefix}idle"

    def skill(self, name: str) -> str:
        """zset: agents holding the skill -> level."""
        return f"{self.prefix}skill:{name}"

    def token_hashes(self) -> str:
        """hash: agent id -> the SHA-256 of their API token, SQL's value cached, so that an agent's
        requests are authenticated with SQL away (changed with the token, dropped with the agent)."""
        return f"{self.prefix}token-hashes"

    def agent_channel(self, agent_id: str) -> str:
        """pub/sub channel of one agent's events (offers, status), feeding their SSE stream."""
        return f"{self.prefix}agent-events:{agent_id}"

    def events(self) -> str:
        """stream: every state change, the source of records and statistics."""
        return f"{self.prefix}events"

    def screenpop(self, call_sid: str) -> str:
        """string (JSON): the prefetched screen-pop context of a call (CRM contact, history), for its life."""
        return f"{self.prefix}screenpop:{call_sid}"

    def offered_agents(self, call_sid: str) -> str:
        """set: agents whose event stream delivered an offer of this call (they may read its context)."""
        return f"{self.prefix}offered:{call_sid}"

    def crm_failures(self) -> str:
        """string (counter): the outside CRM's failures in a row; lookups pause while it is high."""
        return f"{self.prefix}crm-failures"

    def prefetch_pending(self) -> str:
        """list: calls whose screen-pop prefetch was asked for and not yet taken by a job."""
        return f"{self.prefix}screenpop-pending"

    def prefetch_scheduled(self) -> str:
        """string (flag, short TTL): a job to work through the pending list is queued."""
        return f"{self.prefix}screenpop-scheduled"

    def reports_dirty(self) -> str:
        """set: UTC starts (epoch seconds) of report intervals whose call records changed."""
        return f"{self.prefix}reports:dirty"

    def reports_scheduled(self) -> str:
        """string with a TTL: a job that refreshes the dirty report intervals is queued or running."""
        return f"{self.prefix}reports:scheduled"

    # -- the ACD's lines, offers and timers (also spelled by acd/lua) ---------------------------------
    def queue(self, name: str) -> str:
        """zset: a queue's waiting calls -> score (priority first, then arrival), the ACD's order."""
        return f"{self.prefix}queue:{name}"

    def queue_waiting_minutes(self, name: str, day: str) -> str:
        """hash: minute (epoch s) -> callers waiting in the queue at its last sample, over one day
        (YYYYMMDD, the contact center's zone): the board chart's "waiting now" line after a reload."""
        return f"{self.prefix}stats:queue:{name}:{day}:waiting-by-minute"

    def queue_stats(self, name: str, bucket: str) -> str:
        """hash: a queue's counters (offered, answered, talk_s, ...) of one day (YYYYMMDD) or
        15-minute interval (YYYYMMDDTHHMM) in the contact center's zone."""
        return f"{self.prefix}stats:queue:{name}:{bucket}"

    def agent_stats(self, agent_id: str, day: str) -> str:
        """hash: an agent's counters of one day in the contact center's zone."""
        return f"{self.prefix}stats:agent:{agent_id}:{day}"

    def offer(self, reservation_id: str) -> str:
        """hash: one offer (call, agent, queue, state, deadline), from offer to answer."""
        return f"{self.prefix}offer:{reservation_id}"

    def offer_seq(self) -> str:
        """string (counter): how many reservations were made; with each script call's secret nonce it
        makes the next reservation id (lib.lua), so ids are unique and cannot be guessed."""
        return f"{self.prefix}offer-seq"

    def timers(self) -> str:
        """zset: due time -> timer (offer:<rid>, wrapup:<agent>:<sid>, escalate:<sid>:<n>, maxwait:<sid>, ...)."""
        return f"{self.prefix}timers"

    def tried(self, call_sid: str) -> str:
        """set: agents who rejected or missed this call (it is not offered to them again)."""
        return f"{self.prefix}tried:{call_sid}"

    def last_agent(self, caller: str) -> str:
        """string: the agent who last talked with this caller's number (preferred-agent routing)."""
        return f"{self.prefix}last-agent:{caller}"

    def round_robin(self, queue: str) -> str:
        """zset: agents -> when this queue last offered them a call (round-robin strategy)."""
        return f"{self.prefix}rr:{queue}"

    def wait(self, reqkey: str) -> str:
        """zset: waiting calls of one requirement set -> score, the routing index's lines."""
        return f"{self.prefix}wait:{reqkey}"

    def reqsets(self) -> str:
        """hash: requirement set name -> its requirements (JSON) while it has callers."""
        return f"{self.prefix}reqsets"

    def reqheads(self, skill: str | None) -> str:
        """zset: requirement sets whose most demanding skill is `skill` (None: sets needing none,
        spelled `*`) -> the score of their first caller."""
        return f"{self.prefix}reqheads:{skill or '*'}"

    def reqheads_pattern(self) -> str:
        """SCAN pattern matching every reqheads list of the workspace (the prefix taken literally)."""
        return _glob_literal(self.prefix) + "reqheads:*"

    def agent_channels_pattern(self) -> str:
        """PSUBSCRIBE pattern of every agent's event channel (one listener per web process)."""
        return _glob_literal(self.prefix) + "agent-events:*"

    def open_calls(self) -> str:
        """zset: calls begun and not yet ended -> when they began. A call leaves it when its final
        status is learned; the reconciler asks Twilio about those still here (a lost status callback)."""
        return f"{self.prefix}calls:open"

    def records_pending(self) -> str:
        """zset: ended calls whose SQL record is not written yet -> when to (re)try; the outbox the
        record job empties and the worker's sweeper retries with backoff."""
        return f"{self.prefix}records:pending"

    def records_tries(self) -> str:
        """hash: call sid -> failed attempts to write its record (the sweeper's backoff)."""
        return f"{self.prefix}records:tries"

    def reconcile_lease(self) -> str:
        """string with a TTL: a worker reconciles live calls with Twilio this period (one per period)."""
        return f"{self.prefix}reconcile-lease"

    def agent_time_lease(self) -> str:
        """string with a TTL: a worker copies the agents' status time to SQL this minute (one per minute)."""
        return f"{self.prefix}agent-time-lease"

    def callback_leg(self, leg_sid: str) -> str:
        """string: the queued call a callback's outbound call stands for."""
        return f"{self.prefix}leg:{leg_sid}"

    # Call controls (acd/controls.py, acd/lua): who is on a connected call, its transfers and parts.

    def parties(self, call_sid: str) -> str:
        """hash: the agents (and numbers, `number:<e164>`) on a connected call besides its primary
        agent -> JSON {kind, who, role (consult, party), state (offered, ringing, joined), transfer, rid}."""
        return f"{self.prefix}parties:{call_sid}"

    def transfer(self, transfer_id: str) -> str:
        """hash: one transfer (call, by, mode, kind, target, notes, state, agent, rid), kept a day."""
        return f"{self.prefix}transfer:{transfer_id}"

    def segments(self, call_sid: str) -> str:
        """list of JSON: the parts of a call for its record (each agent's talk, hold, consult, the
        transfers and their notes, each agent's wrap-up), in order."""
        return f"{self.prefix}segments:{call_sid}"

    def monitors(self, call_sid: str) -> str:
        """hash: supervisor username -> JSON {mode, leg}: who listens to, whispers on or barges a call."""
        return f"{self.prefix}monitors:{call_sid}"

    def legs(self, call_sid: str) -> str:
        """hash: the conference of a connected call (`conference` name, `conference_sid`, `caller`
        leg) and each party's leg (`agent:<id>`, `number:<e164>`, `monitor:<username>`) -> CallSid."""
        return f"{self.prefix}legs:{call_sid}"

    # People (people/): sessions, login throttling, the audit outbox.

    def session(self, digest: str) -> str:
        """hash with a TTL (idle expiry): one signed-in session, named by the SHA-256 of its cookie's
        random id (a Redis dump never holds a usable id): username, role, agent, CSRF token, times."""
        return f"{self.prefix}session:{digest}"

    def user_sessions(self, username: str) -> str:
        """zset: a person's session digests -> absolute expiry; what logout-everywhere, a password
        change or disabling them ends at once."""
        return f"{self.prefix}user-sessions:{username}"

    def login_failures(self, kind: str, who: str) -> str:
        """string counter with the throttling window as TTL: failed logins of one account
        (`kind` "user") or one client address (`kind` "addr")."""
        return f"{self.prefix}login-failures:{kind}:{who}"

    def user_directory(self) -> str:
        """hash: username -> JSON of what signing in needs (hash, role, agent, TOTP), SQL's copy for
        sign-ins while SQL is away (people/directory.py)."""
        return f"{self.prefix}user-directory"

    def audit_pending(self) -> str:
        """list of JSON entries: state-changing requests not yet written to SQL's audit log (written
        on the side so that an agent's actions never wait for SQL; the worker and readers drain it)."""
        return f"{self.prefix}audit:pending"


def _glob_literal(text: str) -> str:
    """`text` with Redis glob characters escaped, so a pattern matches it literally."""
    return re.sub(r"([\\*?\[\]])", r"\\\1", text)
