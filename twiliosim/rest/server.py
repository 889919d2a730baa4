"""Serving the REST stand-in: `RestServer` runs `make_app(sim)` on a local
port in a daemon thread (its URL is the service's TWILIO_API_URL), and
`redirecting_http_client` points an official `twilio` client at it when the
client's base URL cannot be set."""
from __future__ import annotations

import re
import threading

from werkzeug.serving import WSGIRequestHandler, make_server

from .app import make_app


class QuietHandler(WSGIRequestHandler):
    def log_request(self, *args, **kwargs) -> None:   # one line per request is noise in tests
        pass


class RestServer:
    """Serves `make_app(sim)` on 127.0.0.1 in a daemon thread; `url` is TWILIO_API_URL.

    On start, `sim.api_url` becomes the server URL (so recording URLs point here);
    on stop it goes back to what it was.
    """

    def __init__(self, sim, port: int | None = None, host: str = "127.0.0.1"):
        self.sim = sim
        self.host = host
        self.port = port or 0
        self.app = make_app(sim)
        self._server = None
        self._thread: threading.Thread | None = None
        self._previous_api_url: str | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("RestServer is not running (call start() first)")
        return f"http://{self.host}:{self._server.server_port}"

    def start(self) -> "RestServer":
        if self._server is not None:
            return self
        self._server = make_server(self.host, self.port, self.app, threaded=True, request_handler=QuietHandler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"twiliosim-rest-{self._server.server_port}", daemon=True)
        self._thread.start()
        self._previous_api_url = self.sim.api_url
        self.sim.api_url = self.url
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        if self._previous_api_url is not None:
            self.sim.api_url = self._previous_api_url

    def client(self, **kwargs):
        """An official `twilio.rest.Client` for the simulator's account, pointed at this server."""
        from twilio.rest import Client
        client = Client(self.sim.account_sid, self.sim.auth_token, **kwargs)
        client.api.base_url = self.url
        return client

    def __enter__(self) -> "RestServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def redirecting_http_client(base_url: str, **kwargs):
    """A `TwilioHttpClient` that sends `https://api.twilio.com/…` (any edge/region) to `base_url`.

    For code that cannot set `client.api.base_url`:
    `Client(sid, token, http_client=redirecting_http_client(os.environ["TWILIO_API_URL"]))`.
    Requests for other hosts go out unchanged.
    """
    from twilio.http.http_client import TwilioHttpClient

    target = base_url.rstrip("/")
    pattern = re.compile(r"^https://api(\.[A-Za-z0-9-]+)*\.twilio\.com(?=/|$)")

    class RedirectingHttpClient(TwilioHttpClient):
        base = target

        def request(self, method, url, *args, **kw):
            return super().request(method, pattern.sub(target, url, count=1), *args, **kw)

    return RedirectingHttpClient(**kwargs)
