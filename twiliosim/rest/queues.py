"""The Queues resource and its Members over HTTP: list, create, fetch and
update queues (by FriendlyName, MaxSize), list and fetch members, and dequeue
one (`POST Members/{CallSid|Front}.json` with a Url) through the Simulator."""
from __future__ import annotations

import time

from flask import request

from .errors import bad, not_found
from .params import check_kinds, form, friendly_name_param, int_param, method_param, reply
from .serializers import member_resource, queue_resource

MAX_QUEUE_SIZE = 5000          # Twilio's ceiling for a queue's MaxSize


def register(api) -> None:
    sim = api.sim

    def find_queue(sid: str):
        queue = sim.queue_by_sid(sid)
        if queue is None:
            raise not_found()
        return queue

    def name_taken(name: str):
        return bad(20002, f"A Queue with FriendlyName {name!r} already exists")

    @api.route("Queues", ("GET", "POST"))
    def queues():
        if request.method == "GET":
            with sim._lock:
                every = sorted(sim.queues.values(), key=lambda q: q.created)
            view = api.view()
            return api.page("queues", [queue_resource(q, view) for q in every], "Queues.json")
        name = friendly_name_param(required=True)
        max_size = int_param(request.form, "MaxSize", 1000, 1, MAX_QUEUE_SIZE)
        with sim._lock:
            if sim.queue_named(name, create=False) is not None:
                raise name_taken(name)
            queue = sim.queue_named(name, create=True, max_size=max_size)
        return reply(queue_resource(queue, api.view()), 201)

    @api.route("Queues/<sid:sid>", ("GET", "POST"))
    def queue_instance(sid: str):
        queue = find_queue(sid)
        if request.method == "GET":
            return reply(queue_resource(queue, api.view()))
        name = friendly_name_param(required=False)
        max_size = int_param(request.form, "MaxSize", queue.max_size, 1, MAX_QUEUE_SIZE)
        with sim._lock:
            if name is not None and name != queue.name:
                if sim.queue_named(name, create=False) is not None:
                    raise name_taken(name)
                sim.queues.pop(queue.name, None)       # queues are keyed by name: re-key on rename
                queue.name = name
                sim.queues[name] = queue
            queue.max_size = max_size
            queue.rest_updated = time.time()           # date_updated; SimQueue itself has no such field
        return reply(queue_resource(queue, api.view()))

    @api.route("Queues/<sid:sid>/Members", ("GET",))
    def members(sid: str):
        queue = find_queue(sid)
        with queue.lock:
            every = list(queue.members)
        view = api.view()
        rows = [m for m in (member_resource(queue, c, view) for c in every) if m is not None]
        return api.page("queue_members", rows, f"Queues/{sid}/Members.json")

    @api.route("Queues/<sid:sid>/Members/<sid:call_sid>", ("GET", "POST"))
    def member_instance(sid: str, call_sid: str):
        queue = find_queue(sid)
        member = queue.pick(call_sid)                  # `Front` names the first member
        found = member_resource(queue, member, api.view()) if member is not None else None
        if found is None or member.ended:
            raise not_found()
        if request.method == "GET":
            return reply(found)
        url = form("Url")
        if not url:
            raise bad(21205, "Url parameter is required.")
        check_kinds(request.form, {"Url": "url", "Method": "method"})
        if sim.dequeue(queue.sid, member.sid, url, method_param()) is None:
            raise not_found()
        return reply(found)
