// The supervisor board (/supervisor): queue tiles, alerts, the agent grid with Break / Log out,
// and the day chart, live from GET /api/stats/stream (Server-Sent Events with the session cookie).
// Everything from the service is put on the page as text (dom.js never parses HTML).
import { $, endSession, fill, flash, h, setLine, show } from './dom.js';
import { Api } from './api.js';
import { DayChart, DayHistory } from './chart.js';
import { BoardFilters } from './filters.js';
import { Monitoring } from './monitor.js';
import { AlertNotifier } from './notify.js';
import { WaitingList } from './waiting.js';
import { STATUS_TEXT, count, duration, percent, queueAlerts, renderQueues } from './tiles.js';

const boot = JSON.parse($('#boot').textContent);
const timeZone = boot.timezone || undefined;
const api = new Api(boot.csrf, sessionEnded);

const INTERVALS_EVERY_MS = 60_000;

const state = {
  stats: null,
  queues: {},              // GET /api/queues: service_level_s, service_level_target per queue
  names: {},               // agent id -> name (GET /api/agents)
  namesAsked: 0,
  tiles: new Map(),        // queue -> {root, fields}
  rows: new Map(),         // agent id -> {root, cells, buttons, note}
  order: [],
  events: null,
  over: false,
  intervalsDay: null,
  intervalsNote: null,
};
const monitoring = new Monitoring({
  api, username: boot.username, name: (id) => state.names[id] || id, twilio: boot.twilio,
  onChange: () => state.stats && renderAgents(state.stats),
});
const filters = new BoardFilters({
  api, admin: boot.role === 'admin',
  onChange: () => { if (state.stats) onStats(state.stats); },
});
const notifier = new AlertNotifier();
const waitingList = new WaitingList({
  api, name: (id) => state.names[id] || id, onSessionEnded: sessionEnded,
  shown: (c) => filters.queueShown(c.queue) && (!filters.skill || Boolean((c.skills || {})[filters.skill])),
});
const dayHistory = new DayHistory();
const chart = new DayChart($('#chart'), { timeZone });

// ---------------------------------------------------------------- formatting

function clockTime(date) {
  try {
    return date.toLocaleTimeString('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit' });
  } catch {
    return date.toLocaleTimeString();
  }
}

// ---------------------------------------------------------------- page state

function sessionEnded(message) {
  if (endSession(state, message)) setLine($('#stream'), 'down', 'Live figures: stopped');
}

// ---------------------------------------------------------------- agents

function ensureRow(id) {
  if (state.rows.has(id)) return state.rows.get(id);
  const cell = (cls) => h('td', { className: cls });
  const cells = {
    name: cell('name'), status: h('span', { className: 'pill', dataset: { status: 'unknown' } }),
    since: cell('since'), calls: cell('num'), talk: cell('num'), occupancy: cell('num'), missed: cell('num'),
  };
  const note = h('span', { className: 'row-note', role: 'status' });
  const buttons = {
    available: h('button', { type: 'button', className: 'small', dataset: { action: 'available' } }, 'Make available'),
    break: h('button', { type: 'button', className: 'small', dataset: { action: 'break' } }, 'Break'),
    offline: h('button', { type: 'button', className: 'small', dataset: { action: 'offline' } }, 'Log out'),
  };
  buttons.available.addEventListener('click', () => setAgentStatus(id, 'available'));
  buttons.break.addEventListener('click', () => setAgentStatus(id, 'break'));
  buttons.offline.addEventListener('click', () => setAgentStatus(id, 'offline'));
  const monitor = monitoring.cell(id);
  const skills = filters.skillsCell(id);
  const root = h('tr', { dataset: { agent: id } },
    cells.name, skills.cell, h('td', {}, cells.status), cells.since, cells.calls, cells.talk, cells.occupancy, cells.missed,
    monitor.root, h('td', { className: 'actions-cell' }, buttons.available, ' ', buttons.break, ' ',
      buttons.offline, ' ', note));
  const row = { root, cells, buttons, note, monitor, skills, since: null, status: null };
  state.rows.set(id, row);
  return row;
}

function renderAgents(stats) {
  const agents = stats.agents || {};
  const ids = Object.keys(agents);
  if (ids.some((id) => !(id in state.names))) loadNames();
  const label = (id) => (state.names[id] || id).toLowerCase();
  ids.sort((a, b) => label(a).localeCompare(label(b)) || a.localeCompare(b));
  for (const id of ids) {
    const a = agents[id];
    const row = ensureRow(id);
    const name = state.names[id];
    fill(row.cells.name, name || id, name ? h('span', { className: 'muted' }, ` (${id})`) : '');
    row.cells.status.dataset.status = a.status || 'unknown';
    const text = STATUS_TEXT[a.status] || String(a.status || '?');
    fill(row.cells.status, a.status === 'break' && a.reason ? `${text} · ${a.reason}` : text);
    const breaks = Object.entries(a.breaks || {});
    row.cells.status.title = breaks.length
      ? `On break today: ${breaks.map(([why, s]) => `${why} ${duration(s)}`).join(', ')}` : '';
    row.root.dataset.status = a.status || 'unknown';
    row.root.hidden = !filters.agentShown(id);
    filters.renderSkills(id, row.skills);
    row.status = a.status;
    row.since = a.since ? Date.parse(a.since) / 1000 : null;
    fill(row.cells.calls, count(a.calls));
    fill(row.cells.talk, duration(a.talk_s));
    fill(row.cells.occupancy, a.occupancy === null || a.occupancy === undefined ? '–' : percent(a.occupancy));
    fill(row.cells.missed, count(a.missed));
    // (a supervisor may bring back an agent who is on break or logged out, or end their wrap-up)
    row.buttons.available.disabled = state.over || !['break', 'offline', 'wrapup'].includes(a.status);
    row.buttons.break.disabled = state.over || a.status === 'break' || a.status === 'offline';
    row.buttons.offline.disabled = state.over || a.status === 'offline';
    monitoring.update(row.monitor, a, state.over);
  }
  for (const [id, row] of state.rows) {
    if (!(id in agents)) {
      row.root.remove();
      state.rows.delete(id);
    }
  }
  if (ids.join('\n') !== state.order.join('\n')) {
    const body = $('#agents tbody');
    for (const id of ids) body.append(state.rows.get(id).root);
    state.order = ids;
  }
  const logged = ids.filter((id) => agents[id].status && agents[id].status !== 'offline').length;
  fill($('#agent-count'), `${logged} of ${ids.length} logged in`);
  show($('#agents-empty'), ids.length === 0);
  tick();
}

async function setAgentStatus(id, status) {
  const row = state.rows.get(id);
  const label = state.names[id] || id;
  if (row) fill(row.note, { break: 'Putting on break…', available: 'Making available…' }[status] || 'Logging out…');
  try {
    const data = await api.post(`/api/agents/${encodeURIComponent(id)}/status`, { status });
    if (row) fill(row.note);
    if (data.status === status) {
      flash(`${label} is now ${STATUS_TEXT[data.status] || data.status}.`);
    } else {          // during wrap-up the change waits for its end
      flash(`${label} is in ${STATUS_TEXT[data.status] || data.status}; they will be `
        + `${{ break: 'on break', available: 'available' }[status] || 'logged out'} when it ends.`);
    }
  } catch (err) {
    if (err.status === 401) return;
    const message = err.status === 409
      ? `Cannot change ${label} now: ${err.message}`
      : `Could not change ${label}'s status: ${err.message}`;
    if (row) fill(row.note, message);
    flash(message, 'error');
  }
}

async function loadNames() {
  if (Date.now() - state.namesAsked < 10_000) return;
  state.namesAsked = Date.now();
  try {
    const data = await api.get('/api/agents');
    for (const agent of data.agents || []) state.names[agent.id] = agent.name || agent.id;
    filters.setAgents(data.agents || []);
    if (state.stats) renderAgents(state.stats);
  } catch (err) {
    if (err.status === 403) sessionEnded(err.message);
  }
}

// ---------------------------------------------------------------- chart

function chartQueue() {
  return $('#chart-queue').value;
}

function syncChartChoices(names) {
  const select = $('#chart-queue');
  const have = [...select.options].map((o) => o.value);
  if (names.join('\n') === have.join('\n')) return;
  const current = select.value;
  fill(select, names.map((n) => h('option', { value: n }, n)));
  if (names.includes(current)) select.value = current;
}

function redrawChart() {
  const name = chartQueue();
  if (name) chart.show(dayHistory.aligned(name), dayHistory.window(name, api.now()));
}

async function loadIntervals() {
  try {
    const data = await api.get('/api/stats/intervals');
    if (state.intervalsDay && data.day && data.day !== state.intervalsDay) dayHistory.clearLive();   // a new day
    state.intervalsDay = data.day || null;
    dayHistory.setIntervals(data.queues || {});
    dayHistory.setMinutes(data.waiting_by_minute || {});
    syncChartChoices(Object.keys({ ...(data.queues || {}), ...((state.stats && state.stats.queues) || {}) }).sort());
    setChartNote(null);
  } catch (err) {
    if (err.status === 401) return;
    if (err.status === 403) {
      sessionEnded(err.message);
      return;
    }
    setChartNote(err.status === 404
      ? 'The day\'s 15-minute history is not available from this service; the chart shows the live figures since the page opened.'
      : `Could not load the day's history (${err.message}); the chart shows the live figures.`);
  }
  redrawChart();
}

function setChartNote(text) {
  const note = $('#chart-note');
  if (state.intervalsNote === null) state.intervalsNote = note.textContent;
  note.dataset.kind = text ? 'warn' : '';
  fill(note, text || state.intervalsNote);
}

// ---------------------------------------------------------------- the stream

function onStats(stats) {
  state.stats = stats;
  const now = api.now();
  for (const [name, q] of Object.entries(stats.queues || {})) {
    dayHistory.addLive(name, now, q.waiting, q.today && q.today.service_level);
  }
  notifier.update(renderQueues(state.tiles, state.queues, stats));
  for (const [name, tile] of state.tiles) tile.root.hidden = !filters.queueShown(name);
  renderAgents(stats);
  waitingList.update(stats);
  fill($('#self-service'), count(stats.self_service));
  fill($('#updated'), clockTime(new Date(now * 1000)));
  syncChartChoices(Object.keys(stats.queues || {}).sort());
  redrawChart();
}

function connect() {
  if (state.over) return;
  const events = new EventSource('/api/stats/stream');
  state.events = events;
  const line = $('#stream');
  events.addEventListener('open', () => setLine(line, 'ok', 'Live figures: connected'));
  events.addEventListener('stats', (e) => {
    let data;
    try {
      data = JSON.parse(e.data);
    } catch {
      return;
    }
    setLine(line, 'ok', 'Live figures: live');
    onStats(data);
  });
  events.addEventListener('error', async () => {
    const closed = events.readyState === EventSource.CLOSED;   // else the browser reconnects by itself
    setLine(line, closed ? 'down' : 'retrying', 'Live figures: disconnected, retrying…');
    const ok = await pollOnce();                // the board still shows the latest figures meanwhile
    if (closed && ok !== null) setTimeout(connect, ok ? 2000 : 5000);
  });
}

/** GET /api/stats once (at most every 3 s) while the stream is down: true when it answered,
 *  false when it failed, null when the session has ended (401/403) or it was asked too recently. */
let lastPoll = 0;
async function pollOnce() {
  if (Date.now() - lastPoll < 3000) return true;
  lastPoll = Date.now();
  try {
    onStats(await api.get('/api/stats'));
    return true;
  } catch (err) {
    if (err.status === 403) sessionEnded(err.message);
    return err.status === 401 || err.status === 403 ? null : false;
  }
}

// ---------------------------------------------------------------- clock

function tick() {
  const now = api.now();
  waitingList.tick();
  for (const row of state.rows.values()) {
    fill(row.cells.since, row.since === null || Number.isNaN(row.since) ? '–' : duration(now - row.since));
  }
}

// ---------------------------------------------------------------- start

async function loadQueues() {
  try {
    state.queues = (await api.get('/api/queues')).queues || {};
    filters.setQueues(state.queues);
    if (state.stats) renderQueues(state.tiles, state.queues, state.stats);
  } catch (err) {
    if (err.status === 403) sessionEnded(err.message);
    else if (err.status !== 401) flash(`Could not load the queues' thresholds: ${err.message}`, 'error');
  }
}

function main() {
  $('#chart-queue').addEventListener('change', redrawChart);
  setInterval(tick, 1000);
  loadQueues();
  loadNames();
  loadIntervals();
  setInterval(loadIntervals, INTERVALS_EVERY_MS);
  connect();
}

main();

// For the browser test and for poking at the page from the developer tools.
window.callrouterSupervisor = {
  state, history: dayHistory, chart, queueAlerts, monitoring, waitingList, notifier,
};
