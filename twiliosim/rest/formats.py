"""How Twilio writes values in its JSON, and the media a recording URL serves.

Pure functions without Flask: dates in RFC 2822, phone numbers as
`to_formatted`/`from_formatted` show them, and silent audio of a recording's
length (the simulator records no sound, but clients download the media).
"""
from __future__ import annotations

import io
import math
import wave
from datetime import datetime, timezone
from email.utils import format_datetime

import phonenumbers

API_VERSION = "2010-04-01"


def rfc2822(wall: float | datetime | None) -> str | None:
    """`Mon, 23 Nov 2026 14:00:00 +0000`, as Twilio writes dates."""
    if wall is None:
        return None
    if not isinstance(wall, datetime):
        wall = datetime.fromtimestamp(wall, timezone.utc)
    return format_datetime(wall.astimezone(timezone.utc).replace(microsecond=0))


def formatted_number(number: str) -> str:
    """`to_formatted`/`from_formatted`: (415) 555-0199 for NANP numbers, +44 20 … elsewhere."""
    if not number or not number.startswith("+"):
        return number or ""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    style = phonenumbers.PhoneNumberFormat.NATIONAL if parsed.country_code == 1 \
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(parsed, style)


def silent_wav(seconds: float) -> bytes:
    """8 kHz 16-bit mono silence, Twilio's default recording format (`Recordings/{Sid}` and `.wav`)."""
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(b"\x00\x00" * int(8000 * max(0.0, seconds)))
    return out.getvalue()


def silent_mp3(seconds: float) -> bytes:
    """Silence as MP3 (`Recordings/{Sid}.mp3`), built by hand so no encoder is needed."""
    # MPEG-1 Layer III, 32 kbit/s, 44.1 kHz, mono: 104-byte frames of 1152 samples, all-zero side info.
    frame = b"\xff\xfb\x10\xc4" + b"\x00" * 100
    return frame * max(1, math.ceil(max(0.0, seconds) * 44100 / 1152))
