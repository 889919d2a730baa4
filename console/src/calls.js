// The call search page (/calls): past calls by days, number or contact name, queue, agent and outcome
// (GET /api/calls, a page at a time), and one call whole (GET /api/calls/<sid>): its facts, its
// timeline in words and, when there is one, its recording played from this service
// (/api/calls/<sid>/recording: the service fetches it from Twilio; no Twilio URL reaches the page).
// Everything is put on the page as text.
import { $, fill, flash, h, show } from './dom.js';
import { Api } from './api.js';
import { duration, outcomeText, shortDate } from './pop.js';

const boot = JSON.parse($('#boot').textContent);
const timeZone = boot.timezone || undefined;
const api = new Api(boot.csrf, (message) => flash(message, 'error'));
let next = null;

function query(cursor) {
  const params = new URLSearchParams({ from: $('#from').value, to: $('#to').value || $('#from').value });
  for (const id of ['q', 'queue', 'agent', 'outcome']) {
    const value = $(`#${id}`).value.trim();
    if (value) params.set(id, value);
  }
  if (cursor) params.set('cursor', cursor);
  return params.toString();
}

function row(c) {
  const open = h('button', { type: 'button', className: 'small open-call' }, 'Open');
  open.addEventListener('click', () => openCall(c.call_sid));
  return h('tr', { dataset: { call: c.call_sid, outcome: c.outcome || '' } },
    h('td', {}, c.arrived_at ? shortDate(c.arrived_at, timeZone) : ''),
    h('td', {}, c.contact ? [c.contact, h('span', { className: 'muted' }, ` ${c.from || ''}`)] : (c.from || '')),
    h('td', {}, c.queue || ''), h('td', {}, c.agent_id || ''), h('td', {}, c.outcome || ''),
    h('td', { className: 'num' }, c.duration_s === null || c.duration_s === undefined ? '' : duration(c.duration_s)),
    h('td', {}, c.disposition || ''), h('td', {}, open));
}

async function search(event, more = false) {
  if (event) event.preventDefault();
  let data;
  try {
    data = await api.get(`/api/calls?${query(more ? next : null)}`);
  } catch (err) {
    flash(`Could not search: ${err.message}`, 'error');
    return;
  }
  show($('#flash'), false);
  const rows = (data.calls || []).map(row);
  if (more) $('#calls tbody').append(...rows);
  else fill($('#calls tbody'), rows);
  next = data.next;
  show($('#more'), Boolean(next));
  show($('#calls-empty'), !more && rows.length === 0);
}

async function openCall(sid) {
  let c;
  try {
    c = await api.get(`/api/calls/${encodeURIComponent(sid)}`);
  } catch (err) {
    flash(`Could not open the call: ${err.message}`, 'error');
    return;
  }
  const names = c.agent_names || {};
  const agent = c.agent_id ? (names[c.agent_id] || c.agent_id) : null;
  fill($('#call-title'), c.contact ? `${c.contact} (${c.from || '?'})` : `Call from ${c.from || '?'}`);
  const facts = [['Arrived', c.arrived_at ? shortDate(c.arrived_at, timeZone) : '–'], ['Queue', c.queue || '–'],
    ['Outcome', outcomeText({ outcome: c.outcome, agent_name: agent }) || '–'],
    ['Length', c.duration_s === null || c.duration_s === undefined ? '–' : duration(c.duration_s)],
    ['Disposition', c.disposition || '–'], ['Notes', c.notes || '–'],
    ['Rating', c.csat === null || c.csat === undefined ? '–' : `${c.csat} / 5`]];
  fill($('#call-facts'), facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
  fill($('#call-audio'), c.recording
    ? [h('h3', {}, 'Recording'), h('audio', { controls: true, preload: 'none', id: 'recording',
      src: `/api/calls/${encodeURIComponent(sid)}/recording` })]
    : h('p', { className: 'muted' }, 'No recording.'));
  fill($('#timeline'), (c.timeline || []).map((t) => h('li', {},
    h('span', { className: 'when muted' }, t.at ? `${shortDate(t.at, timeZone)} ` : ''), t.text)));
  $('#call').dataset.call = sid;
  show($('#call'), true);
  $('#call').scrollIntoView({ block: 'nearest' });
}

$('#calls-form').addEventListener('submit', (e) => search(e));
$('#more').addEventListener('click', () => search(null, true));
$('#call-close').addEventListener('click', () => show($('#call'), false));
search(null);
window.callrouterCalls = { openCall };
