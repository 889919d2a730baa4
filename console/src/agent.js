// The agent console (/agent): status, the live event stream, offers with the screen pop, the
// softphone, the in-call view, wrap-up and today's calls. Everything that comes from the CRM,
// speech or notes is put on the page as text (dom.js never parses HTML).
import { $, endSession, fill, flash, h, setLine, show } from './dom.js';
import { Api } from './api.js';
import { duration, renderPop, shortTime } from './pop.js';
import { Softphone } from './softphone.js';

const DEFAULT_DISPOSITIONS = ['resolved', 'follow-up', 'escalated', 'no-resolution'];
const CANCEL_REASONS = {
  timeout: 'The offer timed out; the caller stays in line for the next agent.',
  caller_hung_up: 'The caller hung up.',
};

const boot = JSON.parse($('#boot').textContent);
const agentId = boot.agent.id;
const timeZone = boot.agent.timezone || undefined;
const api = new Api(boot.csrf, sessionEnded);

const state = {
  status: null,
  offer: null,          // the offer event + {receivedAt, accepted, waitEl}
  call: null,           // {call_sid, queue, startedAt (ms, browser clock), waitEl}
  wrap: null,           // {call_sid, queue}
  queues: {},           // GET /api/queues
  pops: new Map(),      // call_sid -> {screenpop, queue}: the offer's pop stays up during the call
  loadingCurrent: false,
  events: null,
  over: false,
};

const softphone = new Softphone(api, agentId, {
  onState: (kind, text) => setLine($('#softphone'), kind, text),
  onIncoming: onIncoming,
  onCallEnded: () => updateHangup(),
});

// ---------------------------------------------------------------- small helpers

function sessionEnded(message) {
  endSession(state, message);
}

function agentPath(suffix) {
  return `/api/agents/${encodeURIComponent(agentId)}${suffix}`;
}

// ---------------------------------------------------------------- status

const STATUS_TEXT = {
  offline: 'Offline', available: 'Available', break: 'On break', reserved: 'Offer waiting',
  busy: 'On a call', wrapup: 'Wrap-up',
};

function renderStatus() {
  const pill = $('#status-pill');
  pill.dataset.status = state.status || 'unknown';
  fill(pill, STATUS_TEXT[state.status] || String(state.status || '…'));
  const locked = state.status === 'reserved' || state.status === 'busy';
  for (const button of document.querySelectorAll('.status-buttons button')) {
    button.disabled = locked || state.over;
    button.setAttribute('aria-pressed', String(button.dataset.status === state.status));
  }
}

async function setStatus(wanted) {
  try {
    const data = await api.post(agentPath('/status'), { status: wanted });
    state.status = data.status;
    renderStatus();
  } catch (err) {
    if (err.status !== 401) flash(`Could not change status: ${err.message}`, 'error');
  }
}

function onStatus(data) {
  state.status = data.status;
  renderStatus();
  if (state.offer && data.status !== 'reserved' && !state.offer.accepted) clearOffer();
  if ((data.status === 'busy' || data.status === 'wrapup') && !state.call && !state.wrap) loadCurrent();
  if (data.status === 'wrapup' && state.call) endCall(state.call.call_sid);   // a missed 'ended'
  if (['available', 'break', 'offline'].includes(data.status)) {
    if (state.offer && state.offer.accepted) {     // accepted, but the call never reached the agent
      clearOffer();
      flash('The call could not be connected to your phone; the caller keeps their place in line.', 'warn');
    }
    if (state.call) {                 // the call ended while the stream was away
      state.call = null;
      show($('#incall'), false);
    }
  }
}

async function loadCurrent() {
  if (state.loadingCurrent) return;
  state.loadingCurrent = true;
  try {
    const data = await api.get('/agent/current');
    if (data.call && data.status === 'busy' && !state.call) {
      const startedAt = data.call.answered_at
        ? Date.now() - (api.now() - data.call.answered_at) * 1000 : Date.now();
      startCall(data.call.call_sid, data.call.queue, startedAt);
    } else if (data.call && data.status === 'wrapup' && !state.wrap) {
      startWrap(data.call.call_sid, data.call.queue);
    }
  } catch (err) {
    if (err.status !== 401) flash(`Could not load your current call: ${err.message}`, 'error');
  } finally {
    state.loadingCurrent = false;
  }
}

// ---------------------------------------------------------------- offers

function onOffer(data) {
  if (state.offer && state.offer.reservation_id === data.reservation_id) return;   // replayed on reconnect
  const { root, waitEl } = renderPop(data.screenpop, { timeZone });
  state.offer = { ...data, receivedAt: Date.now(), accepted: false, waitEl };
  state.pops.set(data.call_sid, { screenpop: data.screenpop, queue: data.queue });
  fill($('#offer-title'), 'Incoming call', data.queue ? ` · ${data.queue}` : '',
    data.callback ? ' · callback request' : '');
  fill($('#offer-pop'), root);
  fill($('#offer-state'));
  $('#accept').disabled = false;
  $('#reject').disabled = false;
  show($('#offer'), true);
  tick();
  $('#accept').focus();
}

function clearOffer() {
  state.offer = null;
  show($('#offer'), false);
  fill($('#offer-pop'));
}

async function answerOffer(verb) {
  const offer = state.offer;
  if (!offer) return;
  $('#accept').disabled = true;
  $('#reject').disabled = true;
  fill($('#offer-state'), verb === 'accept' ? 'Accepting…' : 'Rejecting…');
  try {
    await api.post(`/api/reservations/${encodeURIComponent(offer.reservation_id)}/${verb}`);
    if (state.offer !== offer) return;
    if (verb === 'accept') {
      offer.accepted = true;
      fill($('#offer-state'), softphone.registered
        ? 'Accepted: connecting the caller to this browser…'
        : 'Accepted: connecting the caller (the softphone is offline here; answer on the phone that rings).');
    } else {
      clearOffer();
      flash('Offer rejected.');
    }
  } catch (err) {
    if (state.offer !== offer) return;
    if (err.status === 409) {
      clearOffer();
      flash(`The offer is gone: ${err.message}.`, 'error');
    } else if (err.status !== 401) {
      $('#accept').disabled = false;
      $('#reject').disabled = false;
      fill($('#offer-state'), `Could not ${verb}: ${err.message}`);
    }
  }
}

function onOfferCanceled(data) {
  const offer = state.offer;
  if (!offer) return;
  const same = data.reservation_id ? data.reservation_id === offer.reservation_id : data.call_sid === offer.call_sid;
  if (!same) return;
  clearOffer();
  flash(CANCEL_REASONS[data.reason] || `The offer was withdrawn (${data.reason || 'no reason given'}).`, 'warn');
}

// ---------------------------------------------------------------- the call

function startCall(callSid, queue, startedAt = Date.now()) {
  const known = state.pops.get(callSid) || {};
  queue = queue || known.queue;
  clearOffer();
  show($('#wrapup'), false);
  state.wrap = null;
  const { root, waitEl } = renderPop(known.screenpop, { timeZone });
  waitEl.closest('.row')?.remove();              // the wait is over
  state.call = { call_sid: callSid, queue, startedAt };
  fill($('#incall-title'), 'On a call', queue ? ` · ${queue}` : '');
  fill($('#incall-pop'), known.screenpop ? root : h('p', { className: 'muted' }, `Call ${callSid}`));
  show($('#incall'), true);
  updateHangup();
  tick();
}

function onConnected(data) {
  if (state.call && state.call.call_sid === data.call_sid) return;
  startCall(data.call_sid, undefined);
}

function endCall(callSid) {
  const queue = (state.call && state.call.queue) || (state.pops.get(callSid) || {}).queue;
  state.call = null;
  show($('#incall'), false);
  fill($('#incall-pop'));
  startWrap(callSid, queue);
  refreshTodaySoon();
}

function onEnded(data) {
  if (state.wrap && state.wrap.call_sid === data.call_sid) return;
  endCall(data.call_sid);
}

function updateHangup() {
  const button = $('#hangup');
  const answer = $('#answer');
  const sdkCall = softphone.call;
  const pending = sdkCall && typeof sdkCall.status === 'function' && sdkCall.status() === 'pending';
  show(answer, Boolean(pending));
  if (sdkCall && !pending) {
    button.disabled = false;
    fill($('#hangup-note'));
  } else {
    button.disabled = true;
    fill($('#hangup-note'), sdkCall
      ? 'The call is ringing in this browser.'
      : 'Hang-up is for calls on this browser\'s softphone; this call is on another phone: hang up there.');
  }
}

function onIncoming(call) {
  // The ACD rings <Client>agent</Client> once the agent has accepted: answer at once then.
  if ((state.offer && state.offer.accepted) || state.call) {
    call.accept();
    flash('Softphone: the caller is on this browser.');
  } else {
    if (!state.call) startCall(call.parameters && call.parameters.CallSid ? call.parameters.CallSid : 'unknown');
    flash('Softphone: a call is ringing in this browser.', 'warn');
  }
  call.on('accept', updateHangup);
  updateHangup();
}

// ---------------------------------------------------------------- wrap-up

function startWrap(callSid, queue) {
  state.wrap = { call_sid: callSid, queue };
  const list = (state.queues[queue] && state.queues[queue].dispositions) || DEFAULT_DISPOSITIONS;
  const select = $('#disposition');
  fill(select, h('option', { value: '' }, 'Choose…'), list.map((d) => h('option', { value: d }, d)));
  fill($('#wrapup-call'), queue ? `${queue} · ` : '', callSid);
  fill($('#wrapup-note'));
  $('#wrapup-submit').disabled = false;
  show($('#wrapup'), true);
  select.focus();
}

async function submitWrap(event) {
  event.preventDefault();
  const wrap = state.wrap;
  if (!wrap) return;
  const disposition = $('#disposition').value;
  if (!disposition) {
    fill($('#wrapup-note'), 'Choose a disposition.');
    return;
  }
  $('#wrapup-submit').disabled = true;
  fill($('#wrapup-note'), 'Saving…');
  try {
    const data = await api.post(`/api/calls/${encodeURIComponent(wrap.call_sid)}/wrapup`,
      { disposition, notes: $('#notes').value });
    state.wrap = null;
    $('#wrapup-form').reset();
    show($('#wrapup'), false);
    if (data && data.status) {
      state.status = data.status;
      renderStatus();
    }
    flash(`Wrap-up saved${data && data.status ? `; you are ${STATUS_TEXT[data.status] || data.status}` : ''}.`);
    refreshTodaySoon();
  } catch (err) {
    $('#wrapup-submit').disabled = false;
    if (err.status === 404) {
      fill($('#wrapup-note'), 'This call is no longer known to the service (its wrap-up time may be over).');
    } else if (err.status !== 401) {
      fill($('#wrapup-note'), `Could not save: ${err.message}`);
    }
  }
}

// ---------------------------------------------------------------- today's calls

async function refreshToday() {
  let data;
  try {
    data = await api.get(agentPath('/calls?day=today'));
  } catch (err) {
    if (err.status !== 401) flash(`Could not load today's calls: ${err.message}`, 'error');
    return;
  }
  const calls = Array.isArray(data.calls) ? data.calls : [];
  const body = $('#today-calls tbody');
  fill(body, calls.map((c) => h('tr', { dataset: { callSid: String(c.call_sid) } },
    h('td', {}, shortTime(c.arrived_at, timeZone)),
    h('td', {}, c.contact ? `${c.contact} (${c.from || '?'})` : (c.from || '')),
    h('td', {}, c.queue || ''),
    h('td', {}, c.duration_s === null || c.duration_s === undefined ? '' : duration(c.duration_s)),
    h('td', {}, c.outcome || ''),
    h('td', { className: 'disposition-cell' }, c.disposition || ''),
    h('td', { className: 'notes-cell' }, c.notes || ''))));
  show($('#today-empty'), calls.length === 0);
}

let todayTimers = [];
function refreshTodaySoon() {
  // the call record is written by the worker a moment after the call or the wrap-up
  todayTimers.forEach(clearTimeout);
  todayTimers = [300, 1500, 4000, 10000].map((ms) => setTimeout(refreshToday, ms));
}

// ---------------------------------------------------------------- clock

function tick() {
  const offer = state.offer;
  if (offer) {
    const left = Math.max(0, Math.ceil(Number(offer.expires_at) - api.now()));
    const countdown = $('#offer-countdown');
    fill(countdown, Number.isFinite(left) ? `${left} s` : '');
    countdown.dataset.urgent = String(left <= 5);
    if (offer.waitEl && offer.screenpop && offer.screenpop.wait_s !== undefined && offer.screenpop.wait_s !== null) {
      fill(offer.waitEl, duration(Number(offer.screenpop.wait_s) + (Date.now() - offer.receivedAt) / 1000));
    }
  }
  if (state.call) fill($('#call-timer'), duration((Date.now() - state.call.startedAt) / 1000));
}

// ---------------------------------------------------------------- events

function connectEvents() {
  if (state.over) return;
  const events = new EventSource(agentPath('/events'));
  state.events = events;
  const stream = $('#stream');
  events.addEventListener('open', () => setLine(stream, 'ok', 'Events: live'));
  events.addEventListener('error', async () => {
    if (events.readyState !== EventSource.CLOSED) {
      setLine(stream, 'retrying', 'Events: reconnecting…');
      return;
    }
    setLine(stream, 'down', 'Events: disconnected');
    try {
      await api.get('/agent/current');          // a 401 here ends the session on the page
      setTimeout(connectEvents, 2000);
    } catch (err) {
      if (err.status !== 401) setTimeout(connectEvents, 5000);
    }
  });
  const handlers = { status: onStatus, offer: onOffer, offer_canceled: onOfferCanceled, connected: onConnected, ended: onEnded };
  for (const [kind, handler] of Object.entries(handlers)) {
    events.addEventListener(kind, (e) => {
      let data;
      try {
        data = JSON.parse(e.data);
      } catch {
        return;
      }
      handler(data);
    });
  }
}

// ---------------------------------------------------------------- start

async function loadQueues() {
  try {
    state.queues = (await api.get('/api/queues')).queues || {};
  } catch (err) {
    if (err.status !== 401) flash(`Could not load the queues' dispositions: ${err.message}`, 'error');
  }
}

function main() {
  for (const button of document.querySelectorAll('.status-buttons button')) {
    button.addEventListener('click', () => setStatus(button.dataset.status));
  }
  $('#accept').addEventListener('click', () => answerOffer('accept'));
  $('#reject').addEventListener('click', () => answerOffer('reject'));
  $('#hangup').addEventListener('click', () => softphone.hangUp());
  $('#answer').addEventListener('click', () => softphone.answer());
  $('#wrapup-form').addEventListener('submit', submitWrap);
  $('#today-refresh').addEventListener('click', refreshToday);
  setInterval(tick, 250);
  renderStatus();
  loadQueues().then(() => {
    // the queues' dispositions arrived after a wrap-up began: offer the right list
    if (state.wrap && !$('#disposition').value) startWrap(state.wrap.call_sid, state.wrap.queue);
  });
  connectEvents();
  refreshToday();
  softphone.start(new URL(boot.sounds, window.location.href).href);
}

main();

// For the browser test and for poking at the page from the developer tools.
window.callrouterConsole = { renderPop };
