// The supervisor board's queue tiles (waiting, longest wait, agents by status, today's figures,
// staffing advice) and the alert banner, from GET /api/stats (or its stream); and the formatting
// the board shares. Everything from the service is put on the page as text (dom.js).
import { $, fill, h, show } from './dom.js';

export const STATUSES = ['available', 'reserved', 'busy', 'wrapup', 'break', 'offline'];
export const STATUS_TEXT = {
  offline: 'Offline', available: 'Available', break: 'On break', reserved: 'Offer waiting',
  busy: 'On a call', wrapup: 'Wrap-up',
};

// ---------------------------------------------------------------- formatting

export function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(Number(seconds))) return '–';
  const s = Math.max(0, Math.floor(Number(seconds)));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

export const percent = (v) => (typeof v === 'number' && Number.isFinite(v) ? `${Math.round(v * 1000) / 10} %` : '–');
export const seconds = (v) => (typeof v === 'number' && Number.isFinite(v) ? `${Math.round(v * 10) / 10} s` : '–');
export const count = (v) => (typeof v === 'number' && Number.isFinite(v) ? String(v) : '–');

// ---------------------------------------------------------------- queue tiles

function fact(fields, key, label) {
  const dd = h('dd', { dataset: { field: key } }, '–');
  fields[key] = dd;
  return h('div', { className: 'row' }, h('dt', {}, label), dd);
}

function ensureTile(tiles, name) {
  if (tiles.has(name)) return tiles.get(name);
  const fields = {};
  const big = (key, label) => {
    const value = h('span', { className: 'value', dataset: { field: key } }, '–');
    fields[key] = value;
    return h('div', { className: 'big' }, value, h('span', { className: 'label' }, label));
  };
  const agents = h('ul', { className: 'agent-counts' }, STATUSES.map((status) => {
    const value = h('span', { className: 'n', dataset: { field: `agents_${status}` } }, '–');
    fields[`agents_${status}`] = value;
    return h('li', { dataset: { status } }, value, ` ${STATUS_TEXT[status].toLowerCase()}`);
  }));
  const staffing = h('p', { className: 'staffing', dataset: { field: 'staffing' } }, '');
  fields.staffing = staffing;
  const alert = h('p', { className: 'tile-alert', dataset: { field: 'alert' } });
  fields.alert = alert;
  const root = h('article', { className: 'tile', dataset: { queue: name, alert: 'false' } },
    h('header', {}, h('h2', {}, name)),
    h('div', { className: 'bigs' }, big('waiting', 'waiting'), big('longest_wait', 'longest wait'),
      big('callbacks_pending', 'callbacks pending')),
    agents,
    h('h3', {}, 'Today'),
    h('dl', { className: 'facts today' },
      fact(fields, 'offered', 'Offered'), fact(fields, 'answered', 'Answered'),
      fact(fields, 'abandoned', 'Abandoned'), fact(fields, 'service_level', 'Service level'),
      fact(fields, 'asa', 'ASA'), fact(fields, 'aht', 'AHT'),
      fact(fields, 'callbacks_served', 'Callbacks served'), fact(fields, 'overflowed', 'Overflowed')),
    staffing, alert);
  const tile = { root, fields };
  tiles.set(name, tile);
  const names = [...tiles.keys()].sort();
  const container = $('#queues');
  for (const n of names) container.append(tiles.get(n).root);      // keeps them in name order
  return tile;
}

function thresholds(queues, name, q) {
  const cfg = queues[name] || {};
  const alerts = cfg.alerts || {};
  const staffing = q.staffing || {};
  return {
    waitS: Number(alerts.longest_wait_s ?? cfg.service_level_s ?? staffing.target_s ?? 20),
    target: Number(alerts.service_level ?? cfg.service_level_target ?? staffing.target ?? 0.8),
    waiting: alerts.waiting === null || alerts.waiting === undefined ? null : Number(alerts.waiting),
  };
}

/** The queue's alerts (the config's `alerts`, else its service level settings): service level today
 *  under the target, a caller waiting past the wait threshold, more callers waiting than allowed. */
export function queueAlerts(name, q, limits) {
  const alerts = [];
  const sl = q.today && q.today.service_level;
  if (typeof sl === 'number' && sl < limits.target) {
    alerts.push(`${name}: service level today ${percent(sl)} is under the ${percent(limits.target)} target`);
  }
  if (Number(q.longest_wait_s) > limits.waitS) {
    alerts.push(`${name}: a caller has waited ${duration(q.longest_wait_s)}, past the ${limits.waitS} s threshold`);
  }
  if (limits.waiting !== null && limits.waiting !== undefined && Number(q.waiting) > limits.waiting) {
    alerts.push(`${name}: ${count(q.waiting)} callers waiting, more than ${limits.waiting}`);
  }
  return alerts;
}

function staffingText(s) {
  if (!s) return '';
  if (s.agents_needed === null || s.agents_needed === undefined) {
    return `Staffing: ${s.agents_logged_in ?? 0} logged in; not enough traffic in the last hour for advice yet.`;
  }
  const rate = typeof s.arrival_rate_per_h === 'number' ? `${Math.round(s.arrival_rate_per_h * 10) / 10} calls/h` : '';
  return `Needs ${s.agents_needed} agent${s.agents_needed === 1 ? '' : 's'}, ${s.agents_logged_in} logged in, `
    + `predicted SL ${percent(s.predicted_service_level)} (target ${percent(s.target)} in ${s.target_s} s`
    + `${rate ? `; ${rate}` : ''}${typeof s.aht_s === 'number' ? `, AHT ${duration(s.aht_s)}` : ''}).`;
}

/** The tiles (one per queue, kept in `tiles`) and the alert banner; `queues` is GET /api/queues.
 *  Returns the alerts shown. */
export function renderQueues(tiles, queues, stats) {
  const all = [];
  for (const name of Object.keys(stats.queues || {}).sort()) {
    const q = stats.queues[name];
    const today = q.today || {};
    const { fields, root } = ensureTile(tiles, name);
    fill(fields.waiting, count(q.waiting));
    fill(fields.longest_wait, duration(q.longest_wait_s));
    fill(fields.callbacks_pending, count(q.callbacks_pending));
    for (const status of STATUSES) fill(fields[`agents_${status}`], count((q.agents || {})[status] ?? 0));
    fill(fields.offered, count(today.offered));
    fill(fields.answered, count(today.answered));
    fill(fields.abandoned, count(today.abandoned),
      today.short_abandoned ? ` (${today.short_abandoned} short)` : '');
    fill(fields.service_level, percent(today.service_level));
    fill(fields.asa, seconds(today.asa_s));
    fill(fields.aht, today.aht_s === null || today.aht_s === undefined ? '–' : duration(today.aht_s));
    fill(fields.callbacks_served, `${count(today.callbacks_served ?? 0)} of ${count(today.callbacks ?? 0)}`);
    fill(fields.overflowed, count(today.overflowed));
    fill(fields.staffing, staffingText(q.staffing));
    const alerts = queueAlerts(name, q, thresholds(queues, name, q));
    root.dataset.alert = String(alerts.length > 0);
    fill(fields.alert, alerts.join(' · '));
    all.push(...alerts);
  }
  fill($('#alert-list'), all.map((text) => h('li', {}, text)));
  show($('#alerts'), all.length > 0);
  return all;
}
