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

    def rq_queue_name(self) -> str:
        """RQ queue of this workspace's background jobs (call records, CRM lookups)."""
        return f"callrouter-{self.workspace}"
