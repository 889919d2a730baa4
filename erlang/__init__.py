"""Erlang C: what an M/M/c queue (Poisson arrivals, exponential handle times,
`agents` servers, nobody abandons, first come first served) predicts for a
contact-center queue, and an exact first-come-first-served replay of one
sample path for comparing a measured run with the queue it should behave like.

    erlang_c(11, 10.0)                          # P(a caller waits) with 11 agents and 10 Erlangs
    service_level(11, 100 / 1800, 180, 20)      # P(wait <= 20 s)
    asa(11, 100 / 1800, 180)                    # mean wait of all callers (s)
    agents_needed(100 / 1800, 180, 20, 0.8)     # fewest agents reaching 80 % within 20 s

Formulas (A = arrival rate x mean handle time, the offered load in Erlangs; N agents; h the
mean handle time; t the target):

    Erlang B by the recursion  B(0) = 1,  B(n) = A B(n-1) / (n + A B(n-1))
    Erlang C  C(N, A) = N B(N) / (N - A (1 - B(N)))          for N > A, else 1
    P(wait <= t) = 1 - C(N, A) exp(-(N - A) t / h)
    ASA = C(N, A) h / (N - A)

The recursion stays in [0, 1] for any N and A: no factorials, no powers, no overflow (the textbook
form A^N/N! overflows a float from N = 171 on). The ASA and probability-of-queueing expressions are
the ones on had2know.org's Erlang C page ("Pqueued = (E^M/M!)/[E^M/M! + (1 - E/M) sum_{n<M} E^n/n!]",
"ASA = (T*Pqueued)/(M-E)", valid only for M > E), which is the sum form the tests check the
recursion against.

The worked example is the classic call-centre one (as popularised by Call Centre Helper's "Erlang C
formula made simple": 100 calls in 30 minutes, AHT 180 s, target 20 s; that page itself could not be
consulted here, so every figure below was recomputed from the formula, in exact rational
arithmetic, by tests/test_twiliosim_load.py). A = 100 x 180 / 1800 = 10 Erlangs:
    10 agents: N = A, the queue grows without bound: C = 1, service level 0, ASA infinite
    11 agents: C = 0.6821, service level 1 - 0.6821 e^(-20/180) = 0.3896, ASA 122.8 s
    12 agents: C = 0.4494, service level 1 - 0.4494 e^(-40/180) = 0.6402, ASA  40.4 s
    13 agents: C = 0.2853, service level 0.7956;  14 agents: C = 0.1741, service level 0.8884, ASA 7.8 s
So the often-quoted P(wait) 0.682 / service level 0.39 belong to 11 agents and 0.64 to 12 (with 10
agents the load equals the staffing and Erlang C has no steady state).
"""
from __future__ import annotations

import heapq
import math
from dataclasses import asdict, dataclass

__all__ = [
    "Prediction",
    "agents_needed",
    "asa",
    "erlang_b",
    "erlang_c",
    "fifo_waits",
    "occupancy",
    "predict",
    "service_level",
]


def _check(agents: int, offered: float) -> None:
    if int(agents) != agents or agents < 0:
        raise ValueError(f"agents must be a whole number >= 0, not {agents!r}")
    if not offered >= 0 or math.isinf(offered):
        raise ValueError(f"offered load must be a finite number >= 0, not {offered!r}")


def erlang_b(agents: int, offered_erlangs: float) -> float:
    """Blocking probability of an M/M/N/N loss system (Erlang B), by the stable recursion."""
    _check(agents, offered_erlangs)
    b = 1.0
    for n in range(1, int(agents) + 1):
        b = offered_erlangs * b / (n + offered_erlangs * b)
    return b


def erlang_c(agents: int, offered_erlangs: float) -> float:
    """Probability that a caller has to wait (Erlang C). 1 when the load reaches the staffing."""
    _check(agents, offered_erlangs)
    if offered_erlangs == 0:
        return 0.0
    if agents <= offered_erlangs:
        return 1.0
    b = erlang_b(agents, offered_erlangs)
    return agents * b / (agents - offered_erlangs * (1.0 - b))


def _load(arrival_rate_per_s: float, aht_s: float) -> float:
    if not arrival_rate_per_s >= 0 or not aht_s > 0:
        raise ValueError("the arrival rate must be >= 0 and the handle time > 0")
    return arrival_rate_per_s * aht_s


def service_level(agents: int, arrival_rate_per_s: float, aht_s: float, target_s: float) -> float:
    """Share of callers answered within `target_s`: 1 - C exp(-(N - A) t / h); 0 when N <= A."""
    a = _load(arrival_rate_per_s, aht_s)
    if target_s < 0:
        raise ValueError("target_s must be >= 0")
    c = erlang_c(agents, a)
    if agents <= a and a > 0:
        return 0.0
    return max(0.0, 1.0 - c * math.exp(-(agents - a) * target_s / aht_s))


def asa(agents: int, arrival_rate_per_s: float, aht_s: float) -> float:
    """Average speed of answer over all callers (those who do not wait count 0): C h / (N - A)."""
    a = _load(arrival_rate_per_s, aht_s)
    c = erlang_c(agents, a)
    if a == 0:
        return 0.0
    if agents <= a:
        return math.inf
    return c * aht_s / (agents - a)


def occupancy(agents: int, arrival_rate_per_s: float, aht_s: float) -> float:
    """Share of the agents' time spent handling calls (A / N, at most 1)."""
    a = _load(arrival_rate_per_s, aht_s)
    return min(1.0, a / agents) if agents else 1.0


def agents_needed(arrival_rate: float, aht: float, target_s: float, level: float, max_agents: int = 100_000) -> int:
    """The fewest agents whose service level (answered within `target_s`) reaches `level`."""
    if not 0 <= level < 1:
        raise ValueError("level must be in [0, 1): a service level of 1 needs infinitely many agents")
    a = _load(arrival_rate, aht)
    n = max(1, math.floor(a) + 1)
    while n <= max_agents:
        if service_level(n, arrival_rate, aht, target_s) >= level:
            return n
        n += 1
    raise ValueError(f"more than {max_agents} agents would be needed")


@dataclass(frozen=True)
class Prediction:
    """What Erlang C predicts for one staffing and load (times in the caller's unit, seconds)."""
    agents: int
    arrival_rate_per_s: float
    aht_s: float
    target_s: float
    offered_erlangs: float
    occupancy: float
    p_wait: float
    asa_s: float
    service_level: float

    def as_dict(self) -> dict:
        return asdict(self)


def predict(agents: int, arrival_rate_per_s: float, aht_s: float, target_s: float) -> Prediction:
    a = _load(arrival_rate_per_s, aht_s)
    return Prediction(agents=agents, arrival_rate_per_s=arrival_rate_per_s, aht_s=aht_s, target_s=target_s,
                      offered_erlangs=a, occupancy=occupancy(agents, arrival_rate_per_s, aht_s),
                      p_wait=erlang_c(agents, a), asa_s=asa(agents, arrival_rate_per_s, aht_s),
                      service_level=service_level(agents, arrival_rate_per_s, aht_s, target_s))


def fifo_waits(arrivals: list[float], services: list[float], agents: int) -> list[float]:
    """Exact waits of a first-come-first-served queue with `agents` identical servers for one sample
    path: caller i arrives at arrivals[i] (any order) and keeps an agent services[i]. Nobody abandons
    and routing takes no time. Returned in the order given."""
    if len(arrivals) != len(services):
        raise ValueError("one service time per arrival")
    if agents < 1:
        raise ValueError("at least one agent")
    order = sorted(range(len(arrivals)), key=lambda i: arrivals[i])
    free = [float("-inf")] * agents            # when each agent is next free (a heap)
    waits = [0.0] * len(arrivals)
    for i in order:
        start = max(arrivals[i], heapq.heappop(free))
        waits[i] = start - arrivals[i]
        heapq.heappush(free, start + services[i])
    return waits
