"""A call's recording (its voicemail), fetched from Twilio by the service for a signed-in supervisor:
the page plays `/api/calls/<sid>/recording`, never a Twilio URL (which would need the account's
credentials or be public). Only URLs on the Twilio API the service is configured with are fetched,
so a record's URL cannot make the service fetch anything else.
"""
from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import requests

from contactcenter.errors import NotFound, Unavailable

FETCH_TIMEOUT_S = 10
CHUNK = 64 * 1024


class Recordings:
    def __init__(self, history, account_sid: str, auth_token: str, api_url: str):
        self.history = history
        self.auth = (account_sid, auth_token)
        self.allowed = {urlsplit(api_url).netloc, "api.twilio.com"}

    def open(self, call_sid: str) -> tuple[str, Iterator[bytes], str | None]:
        """(content type, the audio in chunks, its length if Twilio said) of the call's recording, as
        MP3; NotFound without one, Unavailable when Twilio does not give it."""
        url = self.history.recording_url(call_sid)
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or parts.netloc not in self.allowed:
            raise NotFound(f"the recording of {call_sid!r} is not on this service's Twilio account")
        try:
            answer = requests.get(url.removesuffix(".json") + ".mp3", auth=self.auth, timeout=FETCH_TIMEOUT_S,
                                  stream=True)
        except requests.RequestException as exc:
            raise Unavailable(f"could not fetch the recording from Twilio ({type(exc).__name__})") from None
        if answer.status_code == 404:
            answer.close()
            raise NotFound(f"Twilio has no recording for {call_sid!r} any more")
        if answer.status_code != 200:
            answer.close()
            raise Unavailable(f"Twilio answered {answer.status_code} for the recording")

        def chunks() -> Iterator[bytes]:
            try:
                yield from answer.iter_content(CHUNK)
            finally:
                answer.close()
        return answer.headers.get("Content-Type", "audio/mpeg"), chunks(), answer.headers.get("Content-Length")
