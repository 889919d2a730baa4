// The agent console (/agent): status, the live event stream, offers with the screen pop, the
// softphone, the in-call view with its controls (controls.js, transfer.js), wrap-up and today's
// calls (wrapup.js). Everything that comes from the CRM, speech or notes is put on the page as text
// (dom.js never parses HTML).
import { $, endSession, fill, flash, h, setLine, show } from './dom.js';
import { Api } from './api.js';
import { CallControls } from './controls.js';
import { CallHistory } from './history.js';
import { CallNotes } from './notes.js';
import { Directory, STATUS_TEXT } from './directory.js';
import { duration, renderPop } from './pop.js';
import { Softphone } from './softphone.js';
import { TransferPanels } from './transfer.js';
import { WrapUp } from './wrapup.js';

const CANCEL_REASONS = {
  timeout: 'The offer timed out; the caller stays in line for the next agent.',
  caller_hung_up: 'The caller hung up.',
  reject: 'The offer was rejected on another page; the caller stays in line for the next agent.',
  transfer_canceled: 'The transfer was called off.',
  call_ended: 'The call ended before you joined it.',
  transferred: 'The call was transferred elsewhere.',
};

const boot = JSON.parse($('#boot').textContent);
const agentId = boot.agent.id;
const timeZone = boot.agent.timezone || undefined;
const api = new Api(boot.csrf, sessionEnded);

const state = {
  status: null,
  reason: null,         // why the agent is on break (one of the config's break_reasons)
  offer: null,          // the offer event + {receivedAt, accepted, waitEl}
  call: null,           // {call_sid, queue, startedAt (ms, browser clock), waitEl}
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
const directory = new Directory(api);
const notes = new CallNotes({ api });
const controls = new CallControls({ api, agentId, directory, softphone });
const transfers = new TransferPanels({ api, agentId, directory, controls });
const callHistory = new CallHistory({ api, agentId, timeZone });
const wrapup = new WrapUp({
  api, agentId, timeZone, statusText: STATUS_TEXT, onSaved: () => callHistory.refreshSoon(),
  onStatus: (status) => {
    state.status = status;
    renderStatus();
  },
});

// ---------------------------------------------------------------- small helpers

function sessionEnded(message) {
  endSession(state, message);
}

function agentPath(suffix) {
  return `/api/agents/${encodeURIComponent(agentId)}${suffix}`;
}

// ---------------------------------------------------------------- status

function renderStatus() {
  const pill = $('#status-pill');
  pill.dataset.status = state.status || 'unknown';
  const text = STATUS_TEXT[state.status] || String(state.status || '…');
  fill(pill, state.status === 'break' && state.reason ? `${text} · ${state.reason}` : text);
  const locked = state.status === 'reserved' || state.status === 'busy';
  for (const button of document.querySelectorAll('.status-buttons button')) {
    button.disabled = locked || state.over;
    button.setAttribute('aria-pressed', String(button.dataset.status === state.status));
  }
}

async function setStatus(wanted) {
  const body = { status: wanted };
  const reason = $('#break-reason').value;
  if (wanted === 'break' && reason) body.reason = reason;
  try {
    const data = await api.post(agentPath('/status'), body);
    state.status = data.status;
    state.reason = data.status === 'break' ? (body.reason || null) : state.reason;
    renderStatus();
  } catch (err) {
    if (err.status !== 401) flash(`Could not change status: ${err.message}`, 'error');
  }
}

function onStatus(data) {
  const was = state.status;
  state.status = data.status;
  state.reason = data.reason || null;
  state.since = Number(data.since) || null;       // server epoch seconds: the wrap-up countdown starts here
  renderStatus();
  if (data.by && data.status !== was) {           // a supervisor changed it: never without a word
    const what = STATUS_TEXT[data.status] || data.status;
    flash(`${data.by} set your status to ${what}${data.reason ? ` (${data.reason})` : ''}.`, 'warn');
  }
  // (an accept still on its way says itself how it went: a failed one frees the agent before it answers)
  if (state.offer && data.status !== 'reserved' && !state.offer.accepted && state.offer.answering !== 'accept') {
    clearOffer();
  }
  if ((data.status === 'busy' || data.status === 'wrapup') && !state.call && !wrapup.current) loadCurrent();
  if (data.status === 'wrapup' && state.call) endCall(state.call.call_sid);   // a missed 'ended'
  if (data.status === 'wrapup' && wrapup.current && state.since) wrapup.current.since = state.since;
  if (['available', 'break', 'offline'].includes(data.status)) {
    if (state.offer && state.offer.accepted) {     // accepted, but the call never reached the agent
      clearOffer();
      flash('The call could not be connected to your phone; the caller keeps their place in line.', 'warn');
    }
    if (state.call) dropCall();       // the call ended while the stream was away
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
    } else if (data.call && data.status === 'wrapup' && !wrapup.current) {
      wrapup.start(data.call.call_sid, data.call.queue, callerOf(data.call.call_sid),
        state.status === 'wrapup' ? state.since : null);
      wrapup.prefill(null);                       // the notes the service kept for this call
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
  state.status = 'reserved';                      // the ACD reserved this agent with the offer; no status event says so
  renderStatus();
  state.pops.set(data.call_sid, { screenpop: data.screenpop, queue: data.queue });
  offerTitle(data);
  const by = data.transfer && !data.transfer.by_name && data.transfer.by;
  if (by && !(by in directory.names)) {          // the name of the agent who transfers, once known
    directory.ensure(0).then(() => state.offer && state.offer.reservation_id === data.reservation_id && offerTitle(data));
  }
  fill($('#offer-pop'), root);
  fill($('#offer-state'));
  $('#accept').disabled = false;
  $('#reject').disabled = false;
  show($('#offer'), true);
  tick();
  $('#accept').focus();
}

// The caller's details came after the offer (an outside CRM answered late): the card fills in
// where it is, on the offer or on the call, with nothing else on the page moving.
function onScreenpop(data) {
  const known = state.pops.get(data.call_sid);
  if (!known || !data.screenpop) return;
  known.screenpop = data.screenpop;
  if (state.offer && state.offer.call_sid === data.call_sid) {
    const { root, waitEl } = renderPop(data.screenpop, { timeZone });
    state.offer.screenpop = data.screenpop;
    state.offer.receivedAt = Date.now();        // wait_s is as of now
    state.offer.waitEl = waitEl;
    fill($('#offer-pop'), root);
    tick();
  } else if (state.call && state.call.call_sid === data.call_sid) {
    const { root, waitEl } = renderPop(data.screenpop, { timeZone });
    waitEl.closest('.row')?.remove();
    fill($('#incall-pop'), root);
  }
}

function offerTitle(data) {
  const t = data.transfer;
  const by = t ? t.by_name || directory.name(t.by) : '';
  fill($('#offer-title'), t ? `Transfer from ${by}` : data.role === 'party' ? 'Join a call' : 'Incoming call',
    data.queue ? ` · ${data.queue}` : '', data.callback ? ' · callback request' : '');
  show($('#offer-transfer'), Boolean(t));
  fill($('#offer-transfer'), !t ? '' : t.mode === 'warm' ? `Warm transfer: ${by} talks to you first, then hands the caller over.`
    : `${by} hands the caller over to you.`, t && t.notes ? h('span', { className: 'transfer-notes' }, ` Notes: ${t.notes}`) : '');
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
  offer.answering = verb;                         // its own `offer_canceled` may come before the answer
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
    if (verb === 'accept' && err.status === 502) {
      // The service could not connect the call: the caller is back in line, and it is not the agent's
      // miss. (The accept made them busy for a moment: the page may have opened the call meanwhile.)
      if (state.offer === offer) clearOffer();
      if (state.call && state.call.call_sid === offer.call_sid) dropCall();
      flash(`The call could not be connected: ${err.message}. It does not count as your miss.`, 'error');
      return;
    }
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
  if (data.reason === 'reject' && offer.answering === 'reject') {
    flash('Offer rejected.');                     // this page rejected it: no warning
    return;
  }
  flash(CANCEL_REASONS[data.reason] || `The offer was withdrawn (${data.reason || 'no reason given'}).`, 'warn');
}

// ---------------------------------------------------------------- the call

function startCall(callSid, queue, startedAt = Date.now()) {
  const known = state.pops.get(callSid) || {};
  queue = queue || known.queue;
  clearOffer();
  wrapup.hide();
  const { root, waitEl } = renderPop(known.screenpop, { timeZone });
  waitEl.closest('.row')?.remove();              // the wait is over
  state.call = { call_sid: callSid, queue, startedAt };
  fill($('#incall-title'), 'On a call', queue ? ` · ${queue}` : '');
  fill($('#incall-pop'), known.screenpop ? root : h('p', { className: 'muted' }, `Call ${callSid}`));
  show($('#incall'), true);
  controls.start(callSid);
  notes.start(callSid);
  updateHangup();
  tick();
}

function dropCall() {
  state.call = null;
  controls.stop();
  transfers.close();
  show($('#incall'), false);
}

function onConnected(data) {
  if (state.call && state.call.call_sid === data.call_sid) {
    controls.refresh();                 // accepted while the phone rang: now the agent is on the call
    return;
  }
  startCall(data.call_sid, undefined);
}

// The caller as the agent knew them, for the wrap-up's header: their name, else their number.
function callerOf(callSid) {
  const pop = (state.pops.get(callSid) || {}).screenpop;
  if (!pop) return null;
  return (pop.contact && pop.contact.name) || (pop.caller && (pop.caller.national || pop.caller.e164)) || null;
}

function endCall(callSid) {
  const queue = (state.call && state.call.queue) || (state.pops.get(callSid) || {}).queue;
  const taken = notes.finish();
  dropCall();
  fill($('#incall-pop'));
  wrapup.start(callSid, queue, callerOf(callSid));       // its `status: wrapup` event (just after) sets since
  wrapup.prefill(taken);
  callHistory.refreshSoon();
}

function onEnded(data) {
  if (wrapup.current && wrapup.current.call_sid === data.call_sid) return;
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
  controls.tick();
  wrapup.tick();
}

// ---------------------------------------------------------------- events

function connectEvents() {
  if (state.over) return;
  const events = new EventSource(agentPath('/events'));
  state.events = events;
  const stream = $('#stream');
  events.addEventListener('open', () => {
    setLine(stream, 'ok', 'Events: live');
    if (state.call) controls.refresh();           // what changed while the stream was away
  });
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
  const handlers = { status: onStatus, offer: onOffer, offer_canceled: onOfferCanceled, connected: onConnected, ended: onEnded,
    screenpop: onScreenpop };
  for (const kind of ['held', 'resumed', 'muted', 'transfer', 'party_joined', 'party_left', 'monitored']) {
    handlers[kind] = (data) => controls.onEvent(kind, data);
  }
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

function main() {
  for (const button of document.querySelectorAll('.status-buttons button')) {
    button.addEventListener('click', () => setStatus(button.dataset.status));
  }
  const reasons = Array.isArray(boot.break_reasons) ? boot.break_reasons : [];
  fill($('#break-reason'), reasons.map((r) => h('option', { value: r }, r)));
  show($('#break-reason-box'), reasons.length > 0);
  $('#accept').addEventListener('click', () => answerOffer('accept'));
  $('#reject').addEventListener('click', () => answerOffer('reject'));
  $('#hangup').addEventListener('click', () => softphone.hangUp());
  $('#answer').addEventListener('click', () => softphone.answer());
  setInterval(tick, 250);
  renderStatus();
  wrapup.loadQueues();
  directory.ensure().then(() => controls.render());       // names instead of ids
  connectEvents();
  callHistory.refresh();
  softphone.start(new URL(boot.sounds, window.location.href).href, boot.twilio);
}

main();

// For the browser test and for poking at the page from the developer tools.
window.callrouterConsole = { renderPop, state, controls, directory };
