// The supervisor board's waiting callers (GET /api/waiting, read again with the live figures, at most
// every 2 s): who, which queue and place, the wait (ticking), priority, the skills they need, a
// callback request or not, the journey; and "Assign" to give one of them to an available agent of the
// supervisor's choice now (POST /api/calls/<sid>/assign). Everything is put on the page as text.
import { $, fill, flash, h, show } from './dom.js';
import { duration } from './tiles.js';

const REFRESH_MS = 2000;

export class WaitingList {
  /** @param deps {api, name(id) -> display name, onSessionEnded(message), shown(caller): the filters'} */
  constructor({ api, name, onSessionEnded, shown }) {
    this.api = api;
    this.shown = shown || (() => true);
    this.name = name;
    this.onSessionEnded = onSessionEnded;
    this.callers = [];
    this.available = [];        // agent ids available now, from the live figures
    this.loadedAt = 0;          // api.now() when the list was read
    this.lastAsk = 0;
    this.asking = false;
  }

  /** New live figures: who is available, and the list again if it is due. */
  update(stats) {
    const agents = stats.agents || {};
    this.available = Object.keys(agents).filter((id) => agents[id].status === 'available')
      .sort((a, b) => this.name(a).localeCompare(this.name(b)));
    if (Date.now() - this.lastAsk >= REFRESH_MS) this.refresh();
    else this.render();
  }

  async refresh() {
    if (this.asking) return;
    this.asking = true;
    this.lastAsk = Date.now();
    try {
      this.callers = (await this.api.get('/api/waiting')).callers || [];
      this.loadedAt = this.api.now();
      this.render();
    } catch (err) {
      if (err.status === 403) this.onSessionEnded(err.message);
    } finally {
      this.asking = false;
    }
  }

  render() {
    const body = $('#waiting tbody');
    const rows = this.callers.filter((c) => this.shown(c)).map((c) => this.row(c));
    fill(body, rows);
    show($('#waiting-empty'), rows.length === 0);
    fill($('#waiting-count'), rows.length ? `${rows.length} waiting` : '');
    this.tick();
  }

  row(c) {
    const who = c.contact ? [c.contact, h('span', { className: 'muted' }, ` ${c.from || ''}`)] : (c.from || 'Unknown');
    const skills = Object.entries(c.skills || {}).map(([k, v]) => `${k} ${v}`).join(', ') || '–';
    const journey = Array.isArray(c.journey) ? c.journey : [];
    const place = c.state === 'offered' ? `offered to ${this.name(c.offered_to || '?')}` : `#${c.position}`;
    const select = h('select', { className: 'assign-agent', 'aria-label': 'Agent to assign' },
      h('option', { value: '' }, this.available.length ? 'Assign to…' : 'Nobody available'),
      this.available.map((id) => h('option', { value: id }, this.name(id))));
    const button = h('button', { type: 'button', className: 'small assign' }, 'Assign');
    select.disabled = button.disabled = c.state !== 'waiting' || this.available.length === 0;
    button.addEventListener('click', () => this.assign(c, select.value, button));
    const wait = h('td', { className: 'num wait', dataset: { waited: String(c.waited_s) } });
    return h('tr', { dataset: { call: c.call_sid, state: c.state, queue: c.queue } },
      h('td', {}, who, c.callback ? h('span', { className: 'badge' }, ' callback') : ''),
      h('td', {}, c.queue), h('td', {}, place), wait, h('td', { className: 'num' }, String(c.priority ?? 0)),
      h('td', {}, skills),
      h('td', { className: 'journey', title: journey.join(' → ') }, journey.slice(-2).join(' → ') || '–'),
      h('td', { className: 'actions-cell' }, select, ' ', button));
  }

  /** The waits, counted on from when the list was read. */
  tick() {
    const since = this.api.now() - this.loadedAt;
    for (const cell of document.querySelectorAll('#waiting td.wait')) {
      fill(cell, duration(Number(cell.dataset.waited) + since));
    }
  }

  async assign(c, agent, button) {
    if (!agent) {
      flash('Choose the agent to assign the caller to.', 'warn');
      return;
    }
    button.disabled = true;
    try {
      await this.api.post(`/api/calls/${encodeURIComponent(c.call_sid)}/assign`, { agent });
      flash(`${c.contact || c.from || 'The caller'} is being offered to ${this.name(agent)}.`);
    } catch (err) {
      if (err.status === 401) return;
      flash(`Could not assign the caller: ${err.message}`, 'error');
    }
    this.refresh();
  }
}
