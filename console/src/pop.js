// The screen pop (CONTRACT.md, "Screen pop") as DOM built from text only. Every field is optional:
// whatever the service sends is shown, whatever it leaves out is skipped.
import { h } from './dom.js';

const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
const text = (v) => (v === undefined || v === null ? '' : String(v));

export function money(value) {
  const n = Number(value);
  if (value === null || value === undefined || value === '' || Number.isNaN(n)) return text(value);
  return new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 }).format(n);
}

/** "09:14 (UTC−08:00)" from "2026-11-23T09:14:00-08:00": the caller's own wall clock. */
export function callerClock(iso) {
  const m = /T(\d{2}:\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(text(iso));
  if (!m) return text(iso);
  const zone = !m[2] ? '' : m[2] === 'Z' ? ' (UTC)' : ` (UTC${m[2]})`;
  return m[1] + zone;
}

// How a past call ended, in words, with the agent who took it.
const OUTCOMES = {
  answered: 'Answered', transferred: 'Transferred out', abandoned: 'Hung up while waiting',
  voicemail: 'Left a voicemail', ivr_hangup: 'Hung up in the menu', self_service: 'Served by the menu',
  overflowed: 'Overflowed', failed: 'Failed',
};

export function outcomeText(item) {
  const said = OUTCOMES[item.outcome] || item.outcome || null;
  const agent = item.agent_name || item.agent;
  if (agent) return `${said || 'Taken'} by ${agent}`;
  return said;
}

export function duration(seconds) {
  const s = Math.max(0, Math.floor(Number(seconds) || 0));
  const mm = Math.floor(s / 60), ss = String(s % 60).padStart(2, '0');
  return mm >= 60 ? `${Math.floor(mm / 60)}:${String(mm % 60).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

export function shortDate(iso, timeZone) {
  const d = new Date(text(iso));
  if (Number.isNaN(d.getTime())) return text(iso);
  try {
    return new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short', timeZone }).format(d);
  } catch {
    return d.toLocaleString();
  }
}

export function shortTime(iso, timeZone) {
  const d = new Date(text(iso));
  if (Number.isNaN(d.getTime())) return text(iso);
  try {
    return new Intl.DateTimeFormat(undefined, { timeStyle: 'short', timeZone }).format(d);
  } catch {
    return d.toLocaleTimeString();
  }
}

/** "churn_risk" -> "Churn risk": a custom field's name as a label. */
export function fieldLabel(name) {
  const words = text(name).replace(/_/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const fieldValue = (v) => (v === true ? 'Yes' : v === false ? 'No' : isObj(v) ? JSON.stringify(v) : text(v));

function row(label, ...value) {
  return h('div', { className: 'row' }, h('dt', {}, label), h('dd', {}, ...value));
}

/**
 * The pop's DOM. `waitEl` (returned) shows the wait so far; the caller updates it every second.
 */
export function renderPop(pop, { timeZone } = {}) {
  pop = isObj(pop) ? pop : {};
  const root = h('div', { className: 'pop' });
  const missing = Array.isArray(pop.missing) ? pop.missing.map(text) : [];

  // notices first: the agent must know when the picture is incomplete
  if (missing.includes('crm')) {
    root.append(h('p', { className: 'notice crm-missing', role: 'note' },
      'CRM unavailable: contact details and history could not be fetched in time.'));
  }
  const otherMissing = missing.filter((m) => m !== 'crm');
  if (otherMissing.length) {
    root.append(h('p', { className: 'notice', role: 'note' }, `Not available: ${otherMissing.join(', ')}`));
  }
  if (pop.notice !== undefined && pop.notice !== null && pop.notice !== '') {
    root.append(h('p', { className: 'notice pop-notice', role: 'note' }, isObj(pop.notice) ? JSON.stringify(pop.notice) : text(pop.notice)));
  }

  // who is calling
  const contact = isObj(pop.contact) ? pop.contact : null;
  const badges = h('div', { className: 'badges' });
  if (pop.repeat_caller) badges.append(h('span', { className: 'badge repeat' }, 'Repeat caller'));
  if (contact && contact.tier) badges.append(h('span', { className: `badge tier tier-${text(contact.tier).toLowerCase().replace(/[^a-z0-9]+/g, '-')}` }, text(contact.tier).toUpperCase()));
  const who = h('div', { className: 'who' },
    h('div', { className: 'contact-name' }, contact ? text(contact.name) || 'Unnamed contact' : 'Unknown caller'),
    contact && contact.company ? h('div', { className: 'company' }, text(contact.company)) : null,
    badges);
  root.append(who);

  const facts = h('dl', { className: 'facts' });
  const caller = isObj(pop.caller) ? pop.caller : {};
  if (caller.national || caller.e164) {
    facts.append(row('Number', h('span', { className: 'national' }, text(caller.national || caller.e164)),
      caller.e164 && caller.national ? h('span', { className: 'e164 muted' }, text(caller.e164)) : null));
  }
  if (caller.region) facts.append(row('Region', text(caller.region)));
  if (caller.local_time) facts.append(row('Their time', callerClock(caller.local_time)));
  if (contact) {
    if (contact.account_value !== undefined && contact.account_value !== null) {
      facts.append(row('Account value', h('span', { className: 'account-value' }, money(contact.account_value))));
    }
    if (contact.csat_avg !== undefined && contact.csat_avg !== null) {
      const csat = Number(contact.csat_avg);
      facts.append(row('CSAT', Number.isNaN(csat) ? text(contact.csat_avg) : `${csat.toFixed(1)} / 5`));
    }
    if (contact.tags && Array.isArray(contact.tags) && contact.tags.length) {
      facts.append(row('Tags', contact.tags.map(text).join(', ')));
    }
    // custom fields ({plan: 'gold', churn_risk: true}): one row each, "Churn risk: Yes"
    if (isObj(contact.fields)) {
      for (const [name, value] of Object.entries(contact.fields)) {
        if (value === undefined || value === null || value === '') continue;
        const custom = row(fieldLabel(name), Array.isArray(value) ? value.map(fieldValue).join(', ') : fieldValue(value));
        custom.classList.add('custom-field');
        facts.append(custom);
      }
    }
  }
  const waitEl = h('span', { className: 'wait' }, duration(pop.wait_s));
  if (pop.wait_s !== undefined && pop.wait_s !== null) facts.append(row('Waiting', waitEl));
  root.append(facts);

  if (contact && contact.notes) {
    root.append(h('div', { className: 'contact-notes' }, h('h3', {}, 'CRM notes'), h('p', { className: 'notes-text' }, text(contact.notes))));
  }

  const journey = Array.isArray(pop.journey) ? pop.journey : [];
  if (journey.length) {
    root.append(h('div', { className: 'journey' }, h('h3', {}, 'In the IVR'),
      h('ol', {}, journey.map((step) => h('li', {}, isObj(step) ? text(step.text || JSON.stringify(step)) : text(step))))));
  }

  const history = Array.isArray(pop.history) ? pop.history : [];
  if (history.length) {
    root.append(h('div', { className: 'history' }, h('h3', {}, 'Last interactions'),
      h('ul', {}, history.map((item) => {
        if (!isObj(item)) return h('li', {}, text(item));
        const head = [item.at ? shortDate(item.at, timeZone) : null, outcomeText(item), item.queue, item.disposition]
          .filter((x) => x !== undefined && x !== null && x !== '').map(text).join(' · ');
        return h('li', {}, h('span', { className: 'history-head' }, head),
          item.notes ? h('span', { className: 'history-notes' }, ` — ${text(item.notes)}`) : null);
      }))));
  }
  return { root, waitEl };
}
