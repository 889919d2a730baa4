"""The wiring: builds every client and service object once (services.py) and hands them down to
the HTTP app (app.py), the RQ worker with the ACD's clock (worker.py) and its jobs (jobs.py).
Nothing below this package imports it."""
