"""The engine's own words — what no config gives: places in line, estimated waits, the hold message
by default, the callback offer and its confirmation — in each language the IVR speaks (English,
Spanish, Indonesian, Thai), so a caller who chose Thai is not told their place in English. Another
language falls back to English; a queue's own `hold_message` may be given per language.
"""
from __future__ import annotations

from .language import base

WORDS = {
    "position": {"en": "You are number {n} in line.", "es": "Usted es el número {n} en la fila.",
                 "id": "Anda berada di antrean nomor {n}.", "th": "ขณะนี้คุณอยู่ในคิวลำดับที่ {n} ค่ะ"},
    "soon": {"en": "Your call will be answered in less than a minute.",
             "es": "Su llamada será atendida en menos de un minuto.",
             "id": "Panggilan Anda akan dijawab dalam waktu kurang dari satu menit.",
             "th": "จะมีเจ้าหน้าที่รับสายภายในหนึ่งนาทีค่ะ"},
    "minute": {"en": "Your estimated wait is about 1 minute.", "es": "El tiempo de espera estimado es de un minuto.",
               "id": "Perkiraan waktu tunggu Anda sekitar 1 menit.", "th": "เวลารอโดยประมาณ 1 นาทีค่ะ"},
    "minutes": {"en": "Your estimated wait is about {n} minutes.",
                "es": "El tiempo de espera estimado es de unos {n} minutos.",
                "id": "Perkiraan waktu tunggu Anda sekitar {n} menit.", "th": "เวลารอโดยประมาณ {n} นาทีค่ะ"},
    "hold": {"en": "Thank you for waiting. Your call is important to us; please stay on the line.",
             "es": "Gracias por esperar. Su llamada es importante para nosotros; por favor, no cuelgue.",
             "id": "Terima kasih telah menunggu. Panggilan Anda penting bagi kami; mohon tetap di saluran.",
             "th": "ขอบคุณที่รอสายค่ะ กรุณาถือสายสักครู่"},
    "callback_offer": {"en": "To be called back without losing your place in line, press star.",
                       "es": "Para que le devolvamos la llamada sin perder su lugar en la fila, pulse asterisco.",
                       "id": "Untuk ditelepon kembali tanpa kehilangan antrean Anda, tekan bintang.",
                       "th": "หากต้องการให้โทรกลับโดยไม่เสียลำดับคิว กรุณากดดอกจันค่ะ"},
    "callback_node": {"en": "Thank you. We will call you back at this number when it is your turn, "
                            "and you keep your place in line. Goodbye.",
                      "es": "Gracias. Le llamaremos a este número cuando sea su turno, sin perder su lugar. Adiós.",
                      "id": "Terima kasih. Kami akan menelepon Anda kembali di nomor ini saat giliran Anda, "
                            "dan antrean Anda tetap. Sampai jumpa.",
                      "th": "ขอบคุณค่ะ เราจะโทรกลับหมายเลขนี้เมื่อถึงคิวของคุณ โดยไม่เสียลำดับคิวค่ะ สวัสดีค่ะ"},
    "callback_confirmed": {"en": "Thank you. We will call you back at {number} when it is your turn. "
                                 "You keep your place in line. Goodbye.",
                           "es": "Gracias. Le llamaremos al {number} cuando sea su turno. "
                                 "Conserva su lugar en la fila. Adiós.",
                           "id": "Terima kasih. Kami akan menelepon Anda kembali di {number} saat giliran Anda. "
                                 "Antrean Anda tetap. Sampai jumpa.",
                           "th": "ขอบคุณค่ะ เราจะโทรกลับที่หมายเลข {number} เมื่อถึงคิวของคุณ "
                                 "โดยไม่เสียลำดับคิวค่ะ สวัสดีค่ะ"},
}


def words(name: str, language: str | None, **values) -> str:
    """The phrase `name` in `language` (else English), its {n} or {number} filled in."""
    table = WORDS[name]
    text = table.get(base(language)) or table["en"]
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text


def wait(seconds: float | None, language: str | None) -> str | None:
    """The estimated wait in words, or None when there is no estimate."""
    if seconds is None:
        return None
    if seconds < 60:
        return words("soon", language)
    minutes = round(seconds / 60)
    return words("minute", language) if minutes == 1 else words("minutes", language, n=minutes)
