// Who a call can go to: GET /api/directory (agents with their live status and the queues they serve,
// queues with their waiting callers and who is free now) and a picker of one target (an agent, a
// queue or a +E164 number) for the transfer and add-party panels. Text only (dom.js).
import { fill, h } from './dom.js';
import { duration } from './pop.js';

export const STATUS_TEXT = {
  offline: 'Offline', available: 'Available', break: 'On break', reserved: 'Offer waiting',
  busy: 'On a call', wrapup: 'Wrap-up',
};
const E164 = /^\+[1-9]\d{6,14}$/;

export class Directory {
  constructor(api) {
    this.api = api;
    this.agents = [];
    this.queues = [];
    this.names = {};            // agent id -> name
    this.loadedAt = 0;          // browser ms
    this.pending = null;
  }

  /** Load it (one request at a time); throws the API's error. */
  load() {
    if (!this.pending) {
      this.pending = this.api.get('/api/directory').then((data) => {
        this.agents = Array.isArray(data && data.agents) ? data.agents : [];
        this.queues = Array.isArray(data && data.queues) ? data.queues : [];
        for (const agent of this.agents) this.names[agent.id] = agent.name || agent.id;
        this.loadedAt = Date.now();
        return this;
      }).finally(() => { this.pending = null; });
    }
    return this.pending;
  }

  /** Load it unless it is fresh; errors are swallowed (names fall back to ids). */
  async ensure(maxAgeMs = 30_000) {
    if (Date.now() - this.loadedAt < maxAgeMs) return this;
    try {
      await this.load();
    } catch {
      // the page still works with agent ids
    }
    return this;
  }

  name(id) {
    if (id === undefined || id === null || id === '') return '';
    return this.names[id] || String(id);
  }

  /** "Bob Lee", "queue billing", "+14155550100" for a {"agent"} / {"queue"} / {"number"} target. */
  describe(to) {
    if (!to || typeof to !== 'object') return '?';
    if (to.agent) return this.name(to.agent);
    if (to.queue) return `queue ${to.queue}`;
    if (to.number) return String(to.number);
    return '?';
  }
}

/** Read a picker's choice: {agent} | {queue} | {number}; throws an Error with a message to show. */
export function parseChoice(value, number) {
  if (!value) throw new Error('Choose an agent, a queue or a number.');
  const [kind, ...rest] = value.split(':');
  const id = rest.join(':');
  if (kind === 'agent' || kind === 'queue') return { [kind]: id };
  const typed = String(number || '').replace(/[\s().-]/g, '');
  if (!E164.test(typed)) throw new Error('Type the number in +E.164 form, e.g. +14155550100.');
  return { number: typed };
}

/**
 * One target out of the directory, as radio buttons named `name` (values agent:<id>, queue:<name>,
 * number) in `root`; the number's text box has the id `numberId`. `self` (the asking agent) is listed
 * but cannot be picked. Re-rendering keeps the choice and the typed number.
 */
export class TargetPicker {
  constructor(root, directory, { name, numberId, queues = true, self = null, now = () => Date.now() / 1000 }) {
    this.root = root;
    this.directory = directory;
    this.name = name;
    this.withQueues = queues;
    this.self = self;
    this.now = now;
    this.agentsBody = h('tbody');
    this.queuesBody = h('tbody');
    this.numberRadio = h('input', { type: 'radio', name, value: 'number', id: `${name}-number-choice` });
    this.number = h('input', {
      type: 'tel', id: numberId, placeholder: '+14155550100', autocomplete: 'off', 'aria-label': 'Number',
      onfocus: () => { this.numberRadio.checked = true; },
      oninput: () => { this.numberRadio.checked = true; },
    });
    this.empty = h('p', { className: 'muted small', hidden: true }, 'The directory is empty.');
    fill(root,
      h('h3', {}, 'Agents'),
      h('table', { className: 'directory-agents' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Agent'), h('th', {}, 'Status'), h('th', {}, 'Serves'))),
        this.agentsBody),
      this.empty,
      queues ? h('h3', {}, 'Queues') : null,
      queues ? h('table', { className: 'directory-queues' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Queue'), h('th', {}, 'Waiting'), h('th', {}, 'Free now'))),
        this.queuesBody) : null,
      h('h3', {}, 'Number'),
      h('label', { className: 'number-choice' }, this.numberRadio, ' Outside number ', this.number));
  }

  value() {
    const checked = this.root.querySelector(`input[name="${this.name}"]:checked`);
    return parseChoice(checked ? checked.value : '', this.number.value);
  }

  radio(value, disabled) {
    return h('input', { type: 'radio', name: this.name, value, disabled });
  }

  render() {
    const checked = this.root.querySelector(`input[name="${this.name}"]:checked`);
    const keep = checked ? checked.value : null;
    const dir = this.directory;
    const now = this.now();
    fill(this.agentsBody, dir.agents.map((a) => {
      const self = a.id === this.self;
      const since = typeof a.since === 'number' ? a.since : a.since ? Date.parse(a.since) / 1000 : NaN;
      const status = h('span', { className: 'pill', dataset: { status: a.status || 'unknown' } },
        STATUS_TEXT[a.status] || String(a.status || '?'),
        Number.isFinite(since) ? ` ${duration(now - since)}` : '');
      return h('tr', { dataset: { agent: a.id, status: a.status || 'unknown' } },
        h('td', {}, h('label', {}, this.radio(`agent:${a.id}`, self), ' ', a.name || a.id,
          self ? h('span', { className: 'muted' }, ' (you)') : '',
          a.on_shift === false ? h('span', { className: 'muted' }, ' · off shift') : '')),
        h('td', {}, status),
        h('td', { className: 'muted' }, Array.isArray(a.queues) ? a.queues.join(', ') : ''));
    }));
    this.empty.hidden = dir.agents.length > 0;
    if (this.withQueues) {
      fill(this.queuesBody, dir.queues.map((q) => {
        const free = Array.isArray(q.free) ? q.free.map((id) => dir.name(id)) : [];
        return h('tr', { dataset: { queue: q.name } },
          h('td', {}, h('label', {}, this.radio(`queue:${q.name}`, false), ' ', q.name)),
          h('td', { className: 'num' }, String(q.waiting ?? '–')),
          h('td', { className: 'free' }, free.length ? free.join(', ') : h('span', { className: 'muted' }, 'nobody')));
      }));
    }
    if (keep) {
      const again = [...this.root.querySelectorAll(`input[name="${this.name}"]`)].find((r) => r.value === keep);
      if (again && !again.disabled) again.checked = true;
    }
  }
}
