"""People who sign in (agents, supervisors, admins): their accounts and passwords, their sessions,
the throttling of logins and the audit trail of what they change. A domain package: no Flask, and
nothing of the other domain packages; the HTTP layer (webhooks/auth.py, webhooks/people_api.py)
turns requests into calls of these objects.
"""
