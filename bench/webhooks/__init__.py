"""Throughput of the voice webhooks against the least a correct webhook does.

    .venv/bin/python -m bench.webhooks [--rounds 8] [--seconds 3] [--concurrency 16] [--workers 2]

One "call" is what Twilio sends for a caller who picks the first menu option:
a signed POST /voice/incoming, then a signed POST /voice/gather?node=menu
with Digits=1. The script serves

  * the service:  gunicorn -c gunicorn.conf.py wsgi:app
  * the baseline: gunicorn -c gunicorn.conf.py bench.minimal_app:app
    (parse the form, check the signature, one Redis write, fixed TwiML)

with the same gunicorn settings (WEB_CONCURRENCY workers, gevent), on
127.0.0.1 only, then measures them in alternating rounds and prints the
throughput ratio median(service calls/s) / median(baseline calls/s).
See bench/README.md for the method and the figures.

It uses Redis database 14 of the local Redis (FLUSHDB before and after), a
temporary instance directory with its own SQLite database (migrated, then
`flask seed`), a copy of the demo config whose hours are always open, and logs
the configured agents in through the JSON API so that the menu step queues
the caller. Everything it starts, it stops.
Exit status: 0 PASS, 2 BELOW TARGET, 3 INCONCLUSIVE (busy machine), 1 the run failed or
had errors.

Modules: scenario (one call's signed requests), client (the load generator), under_test (the two
gunicorns and what they need: config, database, agents, Redis), meters (CPU of the machine and of
Redis), rounds (the pre-flight check and one measured round), report (the table, the totals and
the verdict), __main__ (the run).
"""
