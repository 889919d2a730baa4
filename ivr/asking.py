"""A menu's spoken answers understood (ivr/intents.py), and the question asked when the matcher is
unsure: "Did you want billing? Say yes or no, or press 1 for yes and 2 for no." Pure, like the rest
of the engine: TwiML and journey steps out, nothing read or written here.

The matcher of each gather node is compiled once per config (`warm` at start, else on first use)
and kept beside the node it was compiled from, so a config loaded anew compiles anew.
"""
from __future__ import annotations

from twilio.twiml.voice_response import VoiceResponse

from contactcenter.model import ContactCenter, Flow, Node

from . import speech, twiml
from .intents import Intents, Understood
from .language import base, spoken_digit, words, yes_or_no

CONFIRM = {   # the question when the config gives none, per language ({choice}: the target's label)
    "en": "Did you want {choice}? Please say yes or no, or press 1 for yes and 2 for no.",
    "es": "¿Quería {choice}? Diga sí o no, o pulse 1 para sí y 2 para no.",
    "id": "Apakah Anda ingin {choice}? Katakan ya atau tidak, atau tekan 1 untuk ya dan 2 untuk tidak.",
    "th": "ต้องการ{choice}ใช่ไหมคะ กรุณาตอบว่าใช่หรือไม่ใช่ หรือกด 1 สำหรับใช่ และ 2 สำหรับไม่ใช่",
}
YES_NO_HINTS = {"en": "yes, no", "es": "sí, no", "id": "ya, tidak, bukan", "th": "ใช่, ไม่ใช่"}
_COMPILED: dict[int, tuple[dict, Intents]] = {}


def intents_for(node: Node) -> Intents:
    """The node's matcher; a copy of the node for a caller's language (ivr/languages.py) shares its
    options, and so its matcher."""
    hit = _COMPILED.get(id(node.options))
    if hit is None or hit[0] is not node.options:
        languages = tuple({node.language, *(lang for per in node.examples.values() for lang in per)})
        hit = _COMPILED[id(node.options)] = (node.options, Intents.compile(node.options, node.examples, languages))
    return hit[1]


def warm(cc: ContactCenter) -> int:
    """Compile every gather's matcher now (the app and the worker call this as they start), so no
    caller waits for it; the number of gathers."""
    gathers = [n for flow in cc.flows.values() for n in flow.nodes.values() if n.kind == "gather"]
    for node in gathers:
        intents_for(node)
    words("ภาษาไทย", "th")          # the Thai segmenter's dictionary, loaded now rather than on a call
    return len(gathers)


def understand(node: Node, said: str, language: str | None) -> tuple[str | None, Understood | None]:
    """(the option key a spoken digit or a keyword said alone picks, None), else (the keyword said
    in a longer sentence when the matcher agrees with it, or None; what the matcher made of it)."""
    digit = spoken_digit(said, language)
    if digit is not None and digit in node.options:
        return digit, None
    keyword = speech.match(node.options, speech=said)
    if keyword is not None and len(speech.words(said)) == len(speech.words(keyword)):
        return keyword, None                             # a whole keyword, said alone
    understood = intents_for(node).understand(said, language)
    agrees = keyword is not None and understood.sure and node.options[keyword] == understood.target
    return (keyword if agrees else None), understood


def choice_words(flow: Flow, node: Node, target: str, language: str | None, fallback: str) -> str:
    """What the caller is asked about: the target's `label` in their language, else one of the
    menu's examples for it in their language, else `fallback` (the menu's keyword or the node)."""
    lang = base(language)
    target_node = flow.nodes.get(target)
    if target_node is not None and (label := target_node.words(target_node.label, lang)):
        return label
    phrases = node.examples.get(target, {}).get(lang)
    if phrases and lang != "en":
        return phrases[0]
    return fallback


def ask(resp: VoiceResponse, node: Node, target: str, words: str, language: str | None, tries: int) -> None:
    """Gather a yes or no about `target`; the answer comes to the confirm step with the target in
    its (signed) action URL."""
    lang = base(language)
    question = (node.words(node.confirm, lang) or CONFIRM.get(lang) or CONFIRM["en"]).replace("{choice}", words)
    action = twiml.url("confirm", node.name, target=target, **({"try": tries} if tries else {}),
                       **({"lang": node.chosen_language} if node.chosen_language else {}))
    g = resp.gather(input="dtmf speech", action=action, method="POST", timeout=node.timeout,
                    language=node.language, speech_timeout="auto", num_digits=1,
                    hints=YES_NO_HINTS.get(lang, YES_NO_HINTS["en"]))
    twiml.say(g, question, node)
    resp.redirect(action, method="POST")         # silence: asked again, as a menu is


def answer(digits: str | None, said: str | None, language: str | None) -> bool | None:
    """Yes (1), no (2), or neither."""
    pressed = speech.clean_digits(digits)
    if pressed:
        return {"1": True, "2": False}.get(pressed[:1])
    return yes_or_no(said, language)
