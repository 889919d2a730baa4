// The agent's calls (GET /api/agents/<id>/calls): today's by default, refreshed as the worker writes
// the records; or the days the agent picks (from, to) narrowed to a number or a contact's name.
// Notes are put on the page as text (dom.js).
import { $, fill, flash, h, show } from './dom.js';
import { duration, shortTime } from './pop.js';

const OUTCOME_TEXT = { answered: 'Answered', transferred: 'Transferred', abandoned: 'Abandoned', voicemail: 'Voicemail' };

export class CallHistory {
  /** @param deps {api, agentId, timeZone} */
  constructor({ api, agentId, timeZone }) {
    this.api = api;
    this.agentId = agentId;
    this.timeZone = timeZone;
    this.timers = [];
    this.search = null;          // {from, to, q} while the agent looks at other days or a search
    $('#today-refresh').addEventListener('click', () => this.refresh());
    $('#history-form').addEventListener('submit', (e) => this.submit(e));
    $('#history-today').addEventListener('click', () => this.backToToday());
  }

  submit(event) {
    event.preventDefault();
    const from = $('#history-from').value;
    const to = $('#history-to').value || from;
    const q = $('#history-q').value.trim();
    if (!from && !q) {
      this.backToToday();
      return;
    }
    this.search = { from: from || null, to: from ? to : null, q };
    this.refresh();
  }

  backToToday() {
    this.search = null;
    $('#history-form').reset();
    this.refresh();
  }

  query() {
    const params = new URLSearchParams();
    const s = this.search;
    if (s && s.from) {
      params.set('from', s.from);
      params.set('to', s.to || s.from);
    } else {
      params.set('day', 'today');
    }
    if (s && s.q) params.set('q', s.q);
    return params.toString();
  }

  async refresh() {
    let data;
    try {
      data = await this.api.get(`/api/agents/${encodeURIComponent(this.agentId)}/calls?${this.query()}`);
    } catch (err) {
      if (err.status !== 401) flash(`Could not load your calls: ${err.message}`, 'error');
      return;
    }
    const calls = Array.isArray(data.calls) ? data.calls : [];
    const many = Boolean(this.search && this.search.from && this.search.to !== this.search.from);
    const when = (c) => (many ? `${String(c.arrived_at || '').slice(0, 10)} ` : '') + shortTime(c.arrived_at, this.timeZone);
    fill($('#today-calls tbody'), calls.map((c) => h('tr', { dataset: { callSid: String(c.call_sid) } },
      h('td', {}, when(c)),
      h('td', {}, c.contact ? `${c.contact} (${c.from || '?'})` : (c.from || '')),
      h('td', {}, c.queue || ''),
      h('td', {}, c.duration_s === null || c.duration_s === undefined ? '' : duration(c.duration_s)),
      h('td', {}, OUTCOME_TEXT[c.outcome] || c.outcome || ''),
      h('td', { className: 'disposition-cell' }, c.disposition || ''),
      h('td', { className: 'notes-cell' }, c.notes || ''))));
    fill($('#today-title'), this.title());
    fill($('#today-empty'), this.search ? 'No calls match.' : 'No calls yet today.');
    show($('#today-empty'), calls.length === 0);
    show($('#history-today'), Boolean(this.search));
  }

  title() {
    const s = this.search;
    if (!s) return "Today's calls";
    const days = s.from ? (s.to && s.to !== s.from ? `${s.from} to ${s.to}` : s.from) : 'today';
    return `Your calls, ${days}${s.q ? `, matching “${s.q}”` : ''}`;
  }

  /** The call record is written by the worker a moment after the call or the wrap-up. */
  refreshSoon() {
    if (this.search) return;                    // the agent is looking at other days: leave them be
    this.timers.forEach(clearTimeout);
    this.timers = [300, 1500, 4000, 10000].map((ms) => setTimeout(() => this.refresh(), ms));
  }
}
