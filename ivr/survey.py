"""The post-call survey: after the agent hangs up, callers of a queue with `survey: true` rate the
call from 1 to 5, by keypad or by voice, in the caller's language (the one they chose, else the
flow's; the digits' words of ivr/language.py). The rating lands on the call
record (`csat`), in the reports and in the caller's next screen pop.

Pure: the TwiML and the reading of an answer; `IvrCalls` stores the rating.
"""
from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

from .language import DIGIT_WORDS
from .language import words as words_of
from .speech import clean_digits

MAX_TRIES = 2          # the question is asked at most twice, then the call ends politely

WORDS = {word: int(digit) for table in DIGIT_WORDS.values() for word, digit in table.items()
         if digit in "12345" and word not in ("to", "too", "for")}     # "for" is no four in a sentence
PROMPTS = {
    "en": ("Before you go: how satisfied were you with this call? Press or say a number from 1, "
           "not at all satisfied, to 5, very satisfied.", "Sorry, I didn't get that.",
           "Thank you for your feedback. Goodbye.", "Thank you for calling. Goodbye."),
    "es": ("Antes de colgar: ¿qué tan satisfecho quedó con esta llamada? Pulse o diga un número del 1, "
           "nada satisfecho, al 5, muy satisfecho.", "Lo siento, no le he entendido.",
           "Gracias por su opinión. Adiós.", "Gracias por llamar. Adiós."),
    "id": ("Sebelum menutup telepon: seberapa puas Anda dengan panggilan ini? Tekan atau sebutkan angka dari 1, "
           "sangat tidak puas, sampai 5, sangat puas.", "Maaf, saya tidak mengerti.",
           "Terima kasih atas penilaian Anda. Sampai jumpa.", "Terima kasih telah menelepon. Sampai jumpa."),
    "th": ("ก่อนวางสาย คุณพอใจกับการโทรครั้งนี้แค่ไหนคะ กดหรือพูดตัวเลขตั้งแต่ 1 ไม่พอใจเลย ถึง 5 พอใจมาก",
           "ขออภัยค่ะ ไม่เข้าใจที่พูดมา", "ขอบคุณสำหรับความคิดเห็นค่ะ สวัสดีค่ะ", "ขอบคุณที่โทรมาค่ะ สวัสดีค่ะ"),
}


def _prompts(language: str) -> tuple[str, str, str, str]:
    return PROMPTS.get(language.split("-")[0].lower(), PROMPTS["en"])


def rating(digits: str | None, said: str | None) -> int | None:
    """1-5 from a key press ("4") or words ("four", "a 4 I guess", "cuatro"); None otherwise.
    A reply naming two different ratings is no answer."""
    if digits:
        key = clean_digits(digits).rstrip("#")
        return int(key) if key in ("1", "2", "3", "4", "5") else None
    if not said:
        return None
    found = {int(w) if w in "12345" else WORDS[w] for w in words_of(said)
             if (len(w) == 1 and w in "12345") or w in WORDS}
    return found.pop() if len(found) == 1 else None


def question(language: str, tries: int = 0, sorry: bool = False) -> str:
    """Ask for the rating; silence fetches the action again with no input, which counts a try."""
    ask, sorry_words, _, _ = _prompts(language)
    resp = VoiceResponse()
    if sorry:
        resp.say(sorry_words, language=language)
    action = f"survey?try={tries}"
    g = resp.gather(input="dtmf speech", num_digits=1, action=action, method="POST", timeout=6,
                    language=language, speech_timeout="auto", hints="1, 2, 3, 4, 5")
    g.say(ask, language=language)
    resp.redirect(action, method="POST")
    return str(resp)


def answered(language: str, got_rating: bool) -> str:
    _, _, thanks, goodbye = _prompts(language)
    resp = VoiceResponse()
    resp.say(thanks if got_rating else goodbye, language=language)
    resp.hangup()
    return str(resp)


class Surveys:
    """The survey's turns for one contact center: `calls` is the IVR's call store (store.callstate),
    `call_ended(sid, extra)` writes the call record again (the rating may come after the call's
    final status, e.g. on a callback's leg)."""

    def __init__(self, cc, calls, clock, call_ended):
        self.cc, self.calls, self.clock, self.call_ended = cc, calls, clock, call_ended

    def _language(self, state: dict) -> str:
        """The language the caller chose, else that of the queue node they came through (the flow's,
        unless it says otherwise)."""
        if state.get("language"):
            return state["language"]
        flow = self.cc.flows.get(state.get("flow", ""))
        node = flow.nodes.get(state.get("node", "")) if flow is not None else None
        return node.language if node is not None else "en-US"

    def after_talk(self, call_sid: str) -> str | None:
        """The survey's question when the call's queue asks for one and it was not answered yet."""
        state = self.calls.load(call_sid) or {}
        queue = self.cc.queues.get(state.get("queue", ""))
        if queue is None or not queue.survey or state.get("csat"):
            return None
        return question(self._language(state))

    def answer(self, call_sid: str, digits: str | None, said: str | None, tries: int) -> str:
        state = self.calls.load(call_sid)
        if state is None:
            return answered("en-US", False)
        language = self._language(state)
        score = rating(digits, said)
        now = self.clock().timestamp()
        if score is None:
            if tries + 1 < MAX_TRIES:
                return question(language, tries + 1, sorry=True)
            self.calls.apply(call_sid, [{"event": "survey", "rating": None}], {}, now)
            return answered(language, False)
        self.calls.apply(call_sid, [{"event": "survey", "rating": score}], {"csat": str(score)}, now)
        if state.get("status") == "ended":
            self.call_ended(call_sid, None)
        return answered(language, True)
