"""Where callrouter keeps state: settings, SQL (agents, CRM, call records) and Redis."""
