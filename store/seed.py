"""Load agents and CRM contacts from configuration into the database.

Runs at every start-up, so it must be idempotent: a second run with the same
config changes nothing (no UPDATE, no bumped updated_at). Config is the
source of truth for the fields it names; everything else (agents created
through the API, agent token hashes, extra contact phones) is left alone.
"""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Agent, Contact, ContactPhone

E164_RE = re.compile(r"^\+[1-9]\d{1,14}$")
# Separators people write in config files: "+1 (415) 555-0100".
_PHONE_JUNK = re.compile(r"[\s().\-]")


def normalise_e164(raw: Any) -> str:
    phone = _PHONE_JUNK.sub("", str(raw))
    if not E164_RE.match(phone):
        raise ValueError(f"not an E.164 phone number: {raw!r}")
    return phone


def _assign(obj: Any, values: dict[str, Any]) -> bool:
    """Set only the attributes that differ; True if anything changed."""
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def _agent_values(spec: dict[str, Any], default_timezone: str) -> dict[str, Any]:
    agent_id = spec.get("id")
    if not isinstance(agent_id, str) or not agent_id or len(agent_id) > 64:
        raise ValueError(f"agent needs an id (1-64 characters): {spec!r}")
    skills = dict(spec.get("skills") or {})
    for skill, level in skills.items():
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 10:
            raise ValueError(f"agent {agent_id}: skill {skill!r} level must be 1-10, got {level!r}")
    return {
        "name": spec.get("name") or agent_id,
        "skills": skills,
        "timezone": spec.get("timezone") or default_timezone,
        # Absent schedule = always on shift; absent languages = none listed.
        "schedule": spec.get("schedule"),
        "languages": list(spec.get("languages") or []),
        "auto_accept": bool(spec.get("auto_accept", False)),
    }


def _contact_phones(spec: dict[str, Any]) -> list[str]:
    raw = spec.get("phones")
    if raw is None:
        raw = [spec["phone"]] if spec.get("phone") else []
    elif isinstance(raw, str):
        raw = [raw]
    phones = list(dict.fromkeys(normalise_e164(p) for p in raw))  # dedupe, keep order
    if not phones:
        raise ValueError(f"contact needs a phone or phones: {spec!r}")
    return phones


def _contact_values(spec: dict[str, Any]) -> dict[str, Any]:
    if not spec.get("name"):
        raise ValueError(f"contact needs a name: {spec!r}")
    value = spec.get("account_value")
    return {
        "name": spec["name"],
        "company": spec.get("company"),
        # Rounded like the model validator so the comparison in _assign holds.
        "account_value": None if value is None else round(float(value), 2),
        "tier": spec.get("tier"),
        "notes": spec.get("notes"),
        "tags": list(spec.get("tags") or []),
        # Custom fields (config `contact_fields`, checked there): the config owns the whole object, so
        # a field removed from a contact's entry is removed here too on the next start.
        "fields": dict(spec.get("fields") or {}),
    }


def _seed_agents(session: Session, agents: list[dict], default_timezone: str, counts: dict) -> None:
    seen: set[str] = set()
    for spec in agents:
        values = _agent_values(spec, default_timezone)
        agent_id = spec["id"]
        if agent_id in seen:
            raise ValueError(f"agent {agent_id} appears twice in config")
        seen.add(agent_id)
        agent = session.get(Agent, agent_id)
        if agent is None:
            session.add(Agent(id=agent_id, **values))
            counts["agents_created"] += 1
        elif _assign(agent, values):  # token_hash is not in values: never touched
            counts["agents_updated"] += 1


def _seed_contacts(session: Session, contacts: list[dict], counts: dict) -> None:
    seen: set[str] = set()
    for spec in contacts:
        phones = _contact_phones(spec)
        values = _contact_values(spec)
        # Two entries sharing a number would overwrite each other on every
        # run, so the config is rejected instead.
        dup = seen.intersection(phones)
        if dup:
            raise ValueError(f"phone {sorted(dup)[0]} belongs to more than one configured contact")
        seen.update(phones)
        owners = set(
            session.scalars(select(ContactPhone.contact_id).where(ContactPhone.e164.in_(phones)))
        )
        if len(owners) > 1:
            raise ValueError(f"phones {phones} belong to different stored contacts {sorted(owners)}")
        if not owners:
            contact = Contact(**values)
            contact.phones = [ContactPhone(e164=p) for p in phones]
            session.add(contact)
            counts["contacts_created"] += 1
            counts["phones_added"] += len(phones)
        else:
            contact = session.get(Contact, owners.pop())
            changed = _assign(contact, values)
            known = {p.e164 for p in contact.phones}
            for phone in phones:
                if phone not in known:
                    contact.phones.append(ContactPhone(e164=phone))
                    counts["phones_added"] += 1
                    changed = True
            if changed:
                counts["contacts_updated"] += 1
        # Surface constraint errors at the entry that caused them, even with
        # autoflush off.
        session.flush()


def seed(
    session: Session,
    agents: list[dict],
    contacts: list[dict],
    *,
    default_timezone: str = "UTC",
) -> dict[str, int]:
    """Upsert configured agents (by id) and contacts (by any phone); commits.

    Returns counts: agents_created, agents_updated, contacts_created,
    contacts_updated, phones_added. All zero on a repeated run.
    """
    counts = dict.fromkeys(
        ("agents_created", "agents_updated", "contacts_created", "contacts_updated", "phones_added"),
        0,
    )
    try:
        _seed_agents(session, agents or [], default_timezone, counts)
        _seed_contacts(session, contacts or [], counts)
        session.commit()
    except Exception:
        session.rollback()
        raise
    return counts
