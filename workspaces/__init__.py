"""Workspaces (issue 19): many contact centers in one deployment. This first part is the operator's
registry in SQL (registry.py): each workspace's Twilio account (its auth token encrypted at rest), its
admin's token, its config's versions and the numbers of its current config. Calls are still served
from CALLROUTER_CONFIG's single workspace: nothing here routes a call yet."""
