"""The caller's language. A `languages` node lets the caller choose it ("For English, press 1.
Untuk Bahasa Indonesia, tekan 2."), each line said in its own language; from then on every node
speaks, listens (<Gather language>, hints) and understands (ivr/intents.py) in it, with the
node's words in that language where the config gives them (`say: {en: ..., th: ...}`).

The chosen language travels with the call: in its state in Redis, and in the signed action URL of
every menu (`lang=th-TH`), so answering a menu still needs no read from Redis. A node met in a
chosen language is a copy of the config's node with that language's words, made once per node and
language.
"""
from __future__ import annotations

import dataclasses

from twilio.twiml.voice_response import VoiceResponse

from contactcenter.model import ContactCenter, Node

from . import speech, twiml
from .language import base, words

# What a caller may say instead of pressing the key: the language's names, in it and in English.
NAMES = {
    "en": {"english", "inggris", "อังกฤษ", "ingles"},
    "es": {"spanish", "espanol", "castellano"},
    "id": {"indonesia", "indonesian", "bahasa"},
    "th": {"thai", "ไทย", "ภาษาไทย"},
}
# The engine's own words in the languages it knows, where the config leaves its default (English).
DEFAULTS = {
    "sorry": {"es": "Lo siento, no le he entendido.", "id": "Maaf, saya tidak mengerti.",
              "th": "ขออภัยค่ะ ไม่เข้าใจที่พูดมา"},
    "thanks": {"es": "Gracias. Adiós.", "id": "Terima kasih. Sampai jumpa.", "th": "ขอบคุณค่ะ สวัสดีค่ะ"},
}
_LOCALIZED: dict[tuple[int, str], tuple[Node, Node]] = {}


def known(cc: ContactCenter) -> set[str]:
    """Every language a caller can be in: the nodes' own and those a `languages` node offers."""
    found = {n.language for f in cc.flows.values() for n in f.nodes.values()}
    return found | {lang for f in cc.flows.values() for n in f.nodes.values() for lang, _ in n.choices.values()}


def localized(node: Node, language: str | None) -> Node:
    """`node` as a caller in `language` meets it (the node itself when no language was chosen)."""
    if not language:
        return node
    hit = _LOCALIZED.get((id(node), language))
    if hit is None or hit[0] is not node:
        lang = base(language)
        changes: dict = {"language": language, "chosen_language": language}
        if base(node.language) != lang:
            changes["voice"] = None            # a voice speaks one language: Twilio's default for this one
            for name, per in DEFAULTS.items():
                if getattr(node, name) == getattr(Node, name) and lang in per:
                    changes[name] = per[lang]
            changes.update({name: per[lang] for name, per in node.texts.items() if lang in per})
        hit = _LOCALIZED[(id(node), language)] = (node, dataclasses.replace(node, **changes))
    return hit[1]


# what a caller may say to choose a language, as speech hints (Latin-script names: Twilio's hints are
# for the recognizer of the node's language)
NAME_HINTS = ", ".join(sorted({name for names in NAMES.values() for name in names if name.isascii()}))


def offer(resp: VoiceResponse, node: Node, tries: int = 0) -> None:
    """Each choice said in its own language, one key (or the language's name) ends it."""
    action = twiml.url("language", node.name, **({"try": tries} if tries else {}))
    g = resp.gather(input="dtmf speech", action=action, method="POST", timeout=node.timeout, num_digits=1,
                    language=node.language, speech_timeout="auto",
                    hints=NAME_HINTS)
    for language, line in node.choices.values():
        g.say(line, language=language)
    resp.redirect(action, method="POST")


def chosen(node: Node, digits: str | None, said: str | None) -> str | None:
    """The language the key pressed or the name said picks, or None."""
    pressed = speech.clean_digits(digits)[:1]
    if pressed:
        return node.choices[pressed][0] if pressed in node.choices else None
    heard = set(words(said))
    picked = {lang for lang, _ in node.choices.values() if NAMES.get(base(lang), set()) & heard}
    return picked.pop() if len(picked) == 1 else None
