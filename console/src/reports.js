// The reports page (/reports): the form's query against GET /api/reports, the rows as a table,
// and a "Download CSV" link with the same query + format=csv. Everything as text (dom.js). By rule:
// one row per routing rule taken (its flow, node, kind, index or "else", condition and target) with
// the calls that took it and their outcomes.
import { $, fill, h, show } from './dom.js';
import { Api } from './api.js';
import { duration } from './pop.js';

const boot = JSON.parse($('#boot').textContent);
const api = new Api(boot.csrf, (message) => {
  fill($('#report-state'), `Your session has ended (${message}). Log in again.`);
  $('#report-state').dataset.kind = 'error';
});

const PERCENT = new Set(['service_level', 'fcr', 'self_service_rate', 'occupancy']);
const DURATION = new Set(['asa_s', 'aht_s', 'hold_s', 'logged_in_s', 'staffed_s', 'break_s']);      // seconds, shown as m:ss (the CSV keeps seconds)
const COLUMNS = [
  ['offered', 'Offered'], ['answered', 'Answered'], ['abandoned', 'Abandoned'], ['short_abandoned', 'Short aband.'],
  ['service_level', 'Service level'], ['asa_s', 'ASA'], ['aht_s', 'AHT'], ['hold_s', 'Hold'], ['fcr', 'FCR'],
  ['csat_avg', 'CSAT'], ['csat_n', 'Ratings'], ['calls', 'Calls'], ['self_service', 'Self-service'],
  ['self_service_rate', 'Self-service rate'], ['overflowed', 'Overflowed'], ['callbacks', 'Callbacks'],
  ['transferred', 'Transferred'],
];
// by agent, their time as well (logged in, staffed, on break and per reason, occupancy)
const AGENT_COLUMNS = [['logged_in_s', 'Logged in'], ['staffed_s', 'Staffed'], ['occupancy', 'Occupancy'],
  ['break_s', 'Break'], ['breaks', 'Breaks by reason']];
// by rule: the rule (text), then its calls and their outcomes (numbers)
const RULE_KEYS = [['flow', 'Flow'], ['node', 'Node'], ['kind', 'Kind'], ['rule', 'Rule'], ['expression', 'Condition'],
  ['target', 'Target']];
const RULE_COLUMNS = [['calls', 'Calls'], ['answered', 'Answered'], ['abandoned', 'Abandoned'],
  ['voicemail', 'Voicemail'], ['self_service', 'Self-service']];
const names = {};                // agent id -> name (GET /api/directory), for the rows by agent
const KEY_LABEL = { interval: 'Interval', day: 'Day', queue: 'Queue', agent: 'Agent' };

function query() {
  const params = new URLSearchParams();
  for (const name of ['by', 'from', 'to', 'queue', 'agent']) {
    const value = $(`#${name}`).value;
    if (value) params.set(name, value);
  }
  return params;
}

function syncCsv(params) {
  const csv = new URLSearchParams(params);
  csv.set('format', 'csv');
  $('#csv').href = `/api/reports?${csv}`;
}

function cell(key, value) {
  if (value === null || value === undefined) return '–';
  if (key === 'breaks' && typeof value === 'object') {
    const parts = Object.entries(value).map(([reason, seconds]) => `${reason} ${duration(seconds)}`);
    return parts.length ? parts.join(' · ') : '–';
  }
  if (PERCENT.has(key) && typeof value === 'number') return `${Math.round(value * 1000) / 10} %`;
  if (DURATION.has(key) && typeof value === 'number') return duration(value);
  return String(value);
}

function keyText(by, value) {
  if (by === 'interval' && typeof value === 'string') return value.slice(0, 16).replace('T', ' ');
  if (by === 'agent' && names[value]) return names[value];
  return String(value ?? '');
}

async function loadNames() {
  try {
    for (const agent of (await api.get('/api/directory')).agents || []) names[agent.id] = agent.name;
  } catch (err) {
    // the rows keep the agents' ids: still readable
  }
}

function ruleKey(row) {
  return RULE_KEYS.slice(0, 4).map(([key]) => String(row[key] ?? '')).join('/');
}

function render(data) {
  const by = data.by;
  if (by === 'rule') return renderRules(data);
  const columns = by === 'agent' ? [...AGENT_COLUMNS, ...COLUMNS] : COLUMNS;     // their time first
  fill($('#report thead'), h('tr', {}, h('th', {}, KEY_LABEL[by] || by), columns.map(([, label]) => h('th', {}, label))));
  const rows = Array.isArray(data.rows) ? data.rows : [];
  fill($('#report tbody'), rows.map((row) => h('tr', { dataset: { key: String(row[by] ?? '') } },
    h('td', { className: 'key' }, keyText(by, row[by])),
    columns.map(([key]) => h('td', { className: 'num', dataset: { col: key } }, cell(key, row[key]))))));
  shown(data, rows);
}

function renderRules(data) {
  fill($('#report thead'), h('tr', {}, [...RULE_KEYS, ...RULE_COLUMNS].map(([, label]) => h('th', {}, label))));
  const rows = Array.isArray(data.rows) ? data.rows : [];
  fill($('#report tbody'), rows.map((row) => h('tr', { dataset: { key: ruleKey(row) } },
    RULE_KEYS.map(([key]) => h('td', { className: key === 'expression' ? undefined : 'key', dataset: { col: key } },
      cell(key, row[key]))),
    RULE_COLUMNS.map(([key]) => h('td', { className: 'num', dataset: { col: key } }, cell(key, row[key]))))));
  shown(data, rows);
}

function shown(data, rows) {
  show($('#report-empty'), rows.length === 0);
  const state = $('#report-state');
  state.dataset.kind = '';
  fill(state, `${rows.length} row${rows.length === 1 ? '' : 's'}, ${data.from} to ${data.to} (${data.timezone}).`);
}

async function load() {
  const params = query();
  syncCsv(params);
  history.replaceState(null, '', `/reports?${params}`);
  const state = $('#report-state');
  fill(state, 'Loading…');
  try {
    const [data] = await Promise.all([api.get(`/api/reports?${params}`),
      params.get('by') === 'agent' && !Object.keys(names).length ? loadNames() : null]);
    render(data);
  } catch (err) {
    if (err.status === 401) return;
    state.dataset.kind = 'error';
    fill(state, `Could not load the report: ${err.message}`);
  }
}

function main() {
  const form = $('#report-form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    load();
  });
  form.addEventListener('change', () => syncCsv(query()));
  load();
}

main();
