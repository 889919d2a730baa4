"""gunicorn settings for the web process (Procfile `web`).

gevent workers: agents and supervisors hold Server-Sent Events streams open
for hours, and a sync or thread worker would be used up by a handful of them
while webhooks must stay fast. One gevent worker holds thousands of idle
streams; WEB_CONCURRENCY worker processes use the cores.
"""
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gevent"
worker_connections = int(os.environ.get("WEB_CONNECTIONS", "2000"))
# Twilio gives up on a webhook after 15 s; a request still running past 30 s is stuck.
timeout = 30
graceful_timeout = 10
keepalive = 5
accesslog = "-" if os.environ.get("ACCESS_LOG") else None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
# gunicorn's control socket (reload, stop, worker counts) defaults to one shared path in the home
# directory, where every gunicorn of the user (another deployment, a test) would meet; callrouter is
# run by make run's supervisor and by signals, so it has none.
control_socket_disable = True
