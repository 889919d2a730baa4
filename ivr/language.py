"""What a caller said, made comparable across the ways people say it, per language: words folded
(case, and accents where the script has them: "Facturación" is "facturacion"), Thai cut into words
(it is written without spaces; pythainlp's dictionary segmenter), stems (Snowball: "payments" and
"payment", "pembayaran" and "bayar"), and each language's words for digits, yes and no.

Languages are given as the config gives them ("th-TH", "id", "es-ES"); only the part before the
dash matters here. A language without a stemmer keeps its words whole; Thai script is segmented in
any language (a Thai name in an English sentence), as is a language the config declares unspaced.
The segmenter's dictionary loads once per process, on its first use (a few hundred ms): the app and
the worker make that use as they start (ivr/asking.py `warm`), never a call.
"""
from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

import snowballstemmer
from pythainlp.tokenize import word_tokenize

MAX_CHARS = 2000                        # longer speech is cut first: the cost stays bounded
STEMMERS = {"en": "english", "es": "spanish", "id": "indonesian", "pt": "portuguese", "fr": "french",
            "de": "german", "it": "italian", "nl": "dutch"}
UNSPACED = {"th"}                       # scripts written without spaces between words (segmented)
_THAI = re.compile(r"[\u0e00-\u0e7f]+")
_WORD = re.compile(r"\w+")

# Filler and function words that say nothing about what the caller wants (kept small on purpose:
# "not" and its kin change meaning, "ไม่ได้" is how Thai says something does not work).
FILLERS = {
    "en": "i i'm im me my a an the to of for and or is it its this that please um uh er hmm like just so "
          "hi hello yeah okay ok well you your can could would want wanna need id i'd about with on in".split(),
    "es": "yo me mi mis el la los las un una de del al a y o es que por para con en hola bueno pues eh "
          "este oiga quiero quisiera necesito favor se lo le".split(),
    "id": "saya aku gue gw mau ingin pengen mohon tolong dong nih ya yah sih deh eh emm hmm halo pak bu "
          "mbak mas kak di ke dari yang dan atau untuk buat dengan ini itu nya".split(),
    "th": "ครับ ค่ะ คะ ค่า นะ นะคะ นะครับ จ้ะ จ้า เอ่อ อ่า อืม หน่อย ด้วย ผม ฉัน ดิฉัน หนู เรา "
          "อยาก ขอ ต้องการ สวัสดี คือ ที่ ของ และ".split(),
}

DIGIT_WORDS = {
    "en": {"zero": "0", "oh": "0", "one": "1", "two": "2", "to": "2", "too": "2", "three": "3", "four": "4",
           "for": "4", "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"},
    "es": {"cero": "0", "uno": "1", "una": "1", "dos": "2", "tres": "3", "cuatro": "4", "cinco": "5", "seis": "6",
           "siete": "7", "ocho": "8", "nueve": "9"},
    "id": {"nol": "0", "kosong": "0", "satu": "1", "dua": "2", "tiga": "3", "empat": "4", "lima": "5", "enam": "6",
           "tujuh": "7", "delapan": "8", "sembilan": "9"},
    "th": {"ศูนย์": "0", "หนึ่ง": "1", "สอง": "2", "สาม": "3", "สี่": "4", "ห้า": "5", "หก": "6", "เจ็ด": "7",
           "แปด": "8", "เก้า": "9"},
}
# Words around a spoken digit that leave it a digit: "press two", "nomor dua", "กดสอง".
DIGIT_FRAME = {"en": {"press", "number", "option", "pressed", "push"},
               "es": {"marco", "marcar", "pulso", "pulsar", "numero", "opcion", "el"},
               "id": {"tekan", "pencet", "pilih", "nomor", "angka", "opsi"},
               "th": {"กด", "เบอร์", "หมายเลข", "ข้อ", "ตัวเลือก", "เลข"}}

YES = {"en": {"yes", "yeah", "yep", "yup", "correct", "right", "sure", "exactly", "affirmative", "ya"},
       "es": {"si", "claro", "correcto", "exacto", "eso", "vale", "efectivamente"},
       "id": {"ya", "iya", "betul", "benar", "bener", "yoi", "yup", "oke", "ok"},
       "th": {"ใช่", "ถูก", "ถูกต้อง", "ครับ", "ค่ะ", "คะ", "เอา", "แม่น"}}
NO = {"en": {"no", "nope", "nah", "not", "wrong", "incorrect", "negative"},
      "es": {"no", "incorrecto", "nada"},
      "id": {"tidak", "tak", "nggak", "ngga", "gak", "enggak", "bukan", "salah", "ndak"},
      "th": {"ไม่", "ไม่ใช่", "ผิด", "ไม่เอา", "มิ"}}

# Asking for a person reaches the flow's `agent` option in every language.
AGENT_PHRASES = {
    "en": ["agent", "operator", "human", "a person", "real person", "representative", "someone", "talk to somebody",
           "customer service"],
    "es": ["agente", "operador", "operadora", "persona", "humano", "asesor", "representante", "alguien"],
    "id": ["operator", "agen", "manusia", "orang", "customer service", "cs", "petugas", "admin"],
    "th": ["พนักงาน", "เจ้าหน้าที่", "โอเปอเรเตอร์", "คุยกับคน", "ขอสายพนักงาน", "ติดต่อเจ้าหน้าที่"],
}

_local = threading.local()              # Snowball's stemmers keep state between calls: one per thread


def base(language: str | None) -> str:
    """"th-TH" -> "th"; None or "" -> "en"."""
    return (language or "en").split("-")[0].strip().lower() or "en"


def _fold(text: str) -> str:
    """Case-folded, compatibility-normalized, Latin accents dropped (combining marks after a Latin
    letter). Thai is left as written: compatibility normalization would split its SARA AM (ำ) in
    two, and its vowel and tone marks are combining marks that belong to the word."""
    out = []
    position = 0
    for run in _THAI.finditer(text[:MAX_CHARS]):
        out.append(_fold_other(text[position:run.start()]))
        out.append(unicodedata.normalize("NFC", run.group(0)))
        position = run.end()
    out.append(_fold_other(text[position:MAX_CHARS]))
    return "".join(out)


def _fold_other(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept, previous = [], ""
    for ch in decomposed:
        if unicodedata.combining(ch) and previous and ord(previous) < 0x250:
            continue
        kept.append(ch)
        previous = ch if not unicodedata.combining(ch) else previous
    return unicodedata.normalize("NFC", "".join(kept))


def words(text: str | None, language: str | None = None) -> list[str]:
    """The words said, folded; Thai (and a declared unspaced language's script) segmented."""
    folded = _fold(text or "")
    out: list[str] = []
    position = 0
    for run in _THAI.finditer(folded):
        out += _WORD.findall(folded[position:run.start()])
        out += [w for w in word_tokenize(run.group(0), engine="newmm", keep_whitespace=False) if w.strip()]
        position = run.end()
    out += _WORD.findall(folded[position:])
    if base(language) in UNSPACED - {"th"}:          # another unspaced script: its characters in pairs
        out = [pair for w in out for pair in ([w] if len(w) < 3 else [w[i:i + 2] for i in range(len(w) - 1)])]
    return out


def trigrams(text: str | None, language: str | None) -> set[str]:
    """The letter trigrams of an unspaced script's words run together (fillers dropped): what still
    matches when a Thai word is misspelt or cut in the wrong place."""
    lang = base(language)
    fillers = FILLERS.get(lang, ())
    run = "".join(w for w in words(text, lang) if w not in fillers)
    return {run[i:i + 3] for i in range(len(run) - 2)}


def stem(word: str, language: str | None) -> str:
    name = STEMMERS.get(base(language))
    if name is None or not word.isascii():
        return word
    return _stem(word, name)


@lru_cache(maxsize=65536)       # callers use the same few hundred words: a stem is worked out once
def _stem(word: str, name: str) -> str:
    stemmers = getattr(_local, "stemmers", None)
    if stemmers is None:
        stemmers = _local.stemmers = {}
    if name not in stemmers:
        stemmers[name] = snowballstemmer.stemmer(name)
    return stemmers[name].stemWord(word)


def content(text: str | None, language: str | None) -> list[str]:
    """The stems of the words that carry meaning (fillers dropped)."""
    lang = base(language)
    fillers = FILLERS.get(lang, ())
    return [stem(w, lang) for w in words(text, lang) if w not in fillers]


def spoken_digit(text: str | None, language: str | None) -> str | None:
    """The digit said alone or framed ("two", "satu", "press 3", "กดสอง"), in the call's language or
    English; None otherwise."""
    lang = base(language)
    said = words(text, lang)
    table = {**DIGIT_WORDS["en"], **DIGIT_WORDS.get(lang, {})}
    digits = [table.get(w, w if w.isdigit() and len(w) == 1 else None) for w in said]
    found = [d for d in digits if d is not None]
    frame = DIGIT_FRAME.get(lang, set()) | DIGIT_FRAME["en"] | set(FILLERS.get(lang, ()))
    others = [w for w, d in zip(said, digits, strict=True) if d is None and w not in frame]
    return found[0] if len(found) == 1 and not others else None


def yes_or_no(text: str | None, language: str | None) -> bool | None:
    """True for yes, False for no, None when neither (or both) was said."""
    lang = base(language)
    said = set(words(text, lang))
    yes = said & (YES.get(lang, set()) | YES["en"])
    no = said & (NO.get(lang, set()) | NO["en"])
    if no:
        return False if not yes or lang == "th" else None     # Thai "ไม่ใช่ครับ": no, politely
    return True if yes else None
