"""Every Redis key name callrouter uses, built in this one place.

All keys of a workspace share the hash tag ``{workspace}`` so that one Lua
script may touch any of them and a Redis Cluster keeps one contact center
on one slot.
"""
from __future__ import annotations


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

    def ivr_stats(self, day: str) -> str:
        """hash: the IVR's counters of one day (self_service) in the contact center's zone."""
        return f"{self.prefix}stats:ivr:{day}"

    def rq_queue_name(self) -> str:
        """RQ queue of this workspace's background jobs (call records, CRM lookups)."""
        return f"callrouter-{self.workspace}"

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
