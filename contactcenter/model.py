"""The validated contact-center config as plain, immutable objects.

`contactcenter.config.load_config` builds these from the YAML; everything else
(IVR engine, ACD, seeding) reads them and never the raw YAML.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .hours import Schedule

# Node kinds and the key that names each one in YAML.
KINDS = ("say", "gather", "hours", "queue", "callback", "voicemail", "transfer", "hangup", "languages", "route")
INPUT_KINDS = frozenset({"gather", "queue", "callback", "voicemail", "transfer", "hangup", "languages"})
STRATEGIES = ("longest_idle", "most_skilled", "round_robin", "fewest_calls", "least_talk_time")
DISPOSITIONS = ("resolved", "follow-up", "escalated", "no-resolution")    # a queue's wrap-up choices by default


@dataclass(frozen=True)
class Escalation:
    after_s: int
    skills: dict[str, int]


@dataclass(frozen=True)
class QueueRule:
    """Applied as a call joins the queue when `when` (a routing-rule expression) holds: `priority`
    points more, skill requirements raised to these levels, another strategy (contactcenter/rules.py)."""
    when: str
    priority: int = 0
    skills: dict[str, int] = field(default_factory=dict)
    strategy: str | None = None


@dataclass(frozen=True)
class Queue:
    name: str
    skills: dict[str, int] = field(default_factory=dict)
    priority: int = 0
    hours: str | None = None
    service_level_s: int = 20
    max_wait_s: int | None = None
    offer_timeout_s: int = 15
    wrapup_s: int = 30
    max_missed: int = 3
    overflow: str | None = None
    escalate: tuple[Escalation, ...] = ()
    strategy: str = "longest_idle"
    local_first: bool = False
    preferred_agent_wait_s: int = 0
    announce_every_s: int = 60
    hold_message: str = "Thank you for waiting. Your call is important to us; please stay on the line."
    hold_messages: dict[str, str] = field(default_factory=dict)   # language ("th") -> its hold message
    hold_music: str | None = None
    callback: bool = True            # * during hold asks for a callback that keeps the place in line
    survey: bool = False             # after the agent hangs up, the caller rates the call 1-5
    service_level_target: float = 0.8   # share answered within service_level_s the staffing advice aims at
    dispositions: tuple[str, ...] = DISPOSITIONS    # what the agent console offers at wrap-up
    transfer_wait_s: int = 30        # a transfer to a busy named agent waits this long for them, then any agent
    transfer_priority: int = 0       # points a call transferred into this queue gets on top of its place
    # the board's alerts: a wait past longest_wait_s, today's service level under service_level, more than
    # `waiting` callers in line (unset: service_level_s, service_level_target, no count)
    alerts: dict = field(default_factory=dict)
    rules: tuple[QueueRule, ...] = ()   # applied in order as a call joins; every rule that holds adds


@dataclass(frozen=True)
class Node:
    name: str
    kind: str
    text: str | None = None          # say / gather prompt / voicemail prompt / hangup words
    next: str | None = None          # say: where to go after speaking (None: hang up)
    options: dict[str, str] = field(default_factory=dict)   # gather: digit or words -> node
    retries: int = 2                 # gather: reprompts after the first failed try
    on_fail: str | None = None       # gather/transfer: where to go when input or dialing fails
    sorry: str = "Sorry, I didn't get that."
    timeout: int = 5                 # gather: seconds of silence; transfer: seconds of ringing
    input: str = "dtmf speech"
    hours: str | None = None
    open: str | None = None
    closed: str | None = None
    queue: str | None = None         # queue / callback: the queue the caller (or their request) joins
    skills: dict[str, int] = field(default_factory=dict)    # queue / callback: raises the queue's requirements
    max_length: int = 120            # voicemail: seconds
    transcribe: bool = True
    thanks: str = "Thank you. Goodbye."
    number: str | None = None        # transfer: E.164 to dial
    caller_id: str | None = None
    language: str = "en-US"
    voice: str | None = None
    # gather: phrases callers say for each target node, per language ("en", "th"), and the question
    # asked when the matcher is unsure ({choice}: the target's label); see ivr/intents.py
    examples: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    confirm: dict[str, str] = field(default_factory=dict)      # language ("" any) -> question
    label: dict[str, str] = field(default_factory=dict)        # language ("" any) -> what a choice of it is called
    # what the node says in other languages than its own: field ("text", "sorry", "thanks") -> language -> words
    texts: dict[str, dict[str, str]] = field(default_factory=dict)
    # languages: key -> (language, the line said in it: "Untuk Bahasa Indonesia, tekan 2.")
    choices: dict[str, tuple[str, str]] = field(default_factory=dict)
    chosen_language: str | None = None   # set on a copy of the node made for a caller's chosen language
    # route: (condition, target node) in order, the first that holds wins; `otherwise` when none does
    rules: tuple[tuple[str, str], ...] = ()
    otherwise: str | None = None

    def words(self, texts: dict[str, str], language: str | None) -> str | None:
        """The text of `texts` in `language` ("th-TH" or "th"), else the one for any language."""
        return texts.get((language or "").split("-")[0]) or texts.get("") or None

    def edges(self) -> list[tuple[str, str]]:
        """(field path, target node) for every node this one can lead to."""
        out = []
        for name in ("next", "on_fail", "open", "closed"):
            target = getattr(self, name)
            if target:
                out.append((name, target))
        out.extend((f"options.{key}", target) for key, target in self.options.items())
        out.extend((f"route[{i}].then", target) for i, (_, target) in enumerate(self.rules))
        if self.otherwise:
            out.append(("else", self.otherwise))
        out.extend((f"examples.{target}", target) for target in self.examples)
        return out


@dataclass(frozen=True)
class Flow:
    name: str
    start: str
    nodes: dict[str, Node]
    uses_contact: bool = False       # some text greets the caller by CRM fields
    routes: bool = False             # some node routes by rules: what a node does depends on more than the minute


@dataclass(frozen=True)
class WhenDown:
    """What a caller hears when the router cannot serve their call (Redis or SQL failed, a bug):
    `say`, then a `<Dial>` to the backup `transfer` number, or a goodbye and a hang-up. Needs
    nothing but the config: it is also Twilio's fallback URL's answer."""
    say: str | None = None           # None: DEFAULT_SAY (or DEFAULT_SAY_TRANSFER), in English
    transfer: str | None = None      # E.164 backup number
    language: str | None = None      # None: Twilio's default (en-US)
    voice: str | None = None

    DEFAULT_SAY = "We are sorry, we cannot take your call right now. Please call again later. Goodbye."
    DEFAULT_SAY_TRANSFER = "We are sorry, we cannot route your call right now. Please hold while we connect you."
    AFTER_TRANSFER = "If we could not connect you, please call again later. Goodbye."   # after the Dial

    def words(self) -> str:
        return self.say or (self.DEFAULT_SAY_TRANSFER if self.transfer else self.DEFAULT_SAY)


@dataclass(frozen=True)
class ContactCenter:
    path: str
    workspace: str
    timezone: str
    hours: dict[str, Schedule]
    queues: dict[str, Queue]
    flows: dict[str, Flow]
    numbers: dict[str, str]
    agents: tuple[dict, ...] = ()
    contacts: tuple[dict, ...] = ()
    when_down: WhenDown = WhenDown()
    users: tuple[dict, ...] = ()          # people created at start if absent (contactcenter/config_users.py)
    monitor_notice: bool = False          # agents see when a supervisor listens, whispers or barges
    break_reasons: tuple[str, ...] = ()   # what an agent's break is for (lunch, training…); none: not asked
    contact_fields: dict[str, str] = field(default_factory=dict)   # CRM custom field -> text|number|bool|list
    crm_wait_s: float = 0.3               # what a rule reading `contact` waits for the CRM, at most

    def flow_for(self, called: str) -> Flow:
        """The flow of the dialed number; numbers not listed get the first flow."""
        name = self.numbers.get(called)
        return self.flows[name] if name else next(iter(self.flows.values()))
