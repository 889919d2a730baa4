// The in-call control bar of the agent console: hold / resume, mute, leave, the call's state with a
// running timer (talking, on hold, consulting), a warm transfer's progress with Complete / Cancel,
// the parties on the call and a supervisor's monitoring. Restored from GET /api/calls/<sid>/controls,
// kept live by the stream's held / resumed / muted / transfer / party_joined / party_left /
// monitored events. Everything from the service goes on the page as text (dom.js).
import { $, fill, flash, h, show } from './dom.js';
import { duration } from './pop.js';

const PHASE_TEXT = { talking: 'Talking', hold: 'On hold', consulting: 'Consulting' };
const MONITOR_TEXT = { listen: 'listening', whisper: 'whispering to you', barge: 'in the call (barge)' };
const TRANSFER_DONE = ['completed', 'canceled', 'failed'];

export class CallControls {
  /** @param hooks {api, agentId, directory, softphone} */
  constructor({ api, agentId, directory, softphone }) {
    this.api = api;
    this.agentId = agentId;
    this.directory = directory;
    this.softphone = softphone;
    this.call = null;           // {call_sid, primary, hold, hold_s, mute, transfer, parties: Map, monitors: Map}
    this.phase = null;          // {key, since (browser ms)}
    this.busy = false;          // a request of the bar is on its way
    $('#hold').addEventListener('click', () => this.setHold(!(this.call && this.call.hold)));
    $('#mute').addEventListener('click', () => this.setMute(!(this.call && this.call.mute)));
    $('#leave').addEventListener('click', () => this.leave());
    $('#transfer-complete').addEventListener('click', () => this.finishTransfer('complete'));
    $('#transfer-cancel').addEventListener('click', () => this.finishTransfer('cancel'));
  }

  path(suffix) {
    return `/api/calls/${encodeURIComponent(this.call.call_sid)}${suffix}`;
  }

  start(callSid) {
    if (this.call && this.call.call_sid === callSid) return;
    this.call = { call_sid: callSid, primary: null, hold: false, hold_s: 0, mute: false, transfer: null,
      parties: new Map(), monitors: new Map() };
    this.phase = null;
    show($('#controls'), true);
    this.render();
    this.refresh();
  }

  stop() {
    this.call = null;
    this.phase = null;
    show($('#controls'), false);
    show($('#transfer-status'), false);
    show($('#monitored'), false);
    fill($('#parties'));
  }

  /** GET /api/calls/<sid>/controls: the bar as the service sees it (page load, stream reconnect). */
  async refresh() {
    const call = this.call;
    if (!call) return;
    let data;
    try {
      data = await this.api.get(this.path('/controls'));
    } catch (err) {
      if (this.call === call && ![401, 403, 404, 409].includes(err.status)) {    // not on it (any more)
        flash(`Could not load the call's controls: ${err.message}`, 'error');
      }
      return;
    }
    if (this.call !== call || !data) return;
    call.primary = data.agent ?? call.primary;
    call.hold = Boolean(data.hold);
    call.hold_s = Number(data.hold_s) || 0;
    call.mute = Boolean(data.mute);
    call.transfer = data.transfer && !TRANSFER_DONE.includes(data.transfer.state) ? data.transfer : null;
    call.parties = new Map((Array.isArray(data.parties) ? data.parties : []).map((p) => [String(p.id), p]));
    call.monitors = new Map((Array.isArray(data.monitors) ? data.monitors : [])
      .filter((m) => m && m.mode && m.mode !== 'off').map((m) => [m.by, m]));
    const heldSince = data.held_since ?? data.hold_since;
    if (call.hold && heldSince) this.phase = { key: 'hold', since: this.browserMs(heldSince) };
    this.render();
  }

  browserMs(serverEpochS) {
    return Date.now() - (this.api.now() - Number(serverEpochS)) * 1000;
  }

  // ------------------------------------------------------------ requests

  async send(path, body, what) {
    if (!this.call || this.busy) return null;
    this.busy = true;
    this.render();
    try {
      return (await this.api.post(this.path(path), body)) ?? {};       // a 200 without a body is a yes
    } catch (err) {
      if (err.status !== 401) flash(`Could not ${what}: ${err.message}`, 'error');
      return null;
    } finally {
      this.busy = false;
      this.render();
    }
  }

  async setHold(hold) {
    const data = await this.send('/hold', { hold }, hold ? 'hold the call' : 'resume the call');
    if (data && this.call) this.applyHold(data.hold ?? hold, data.hold_s);
  }

  async setMute(mute) {
    const data = await this.send('/mute', { mute }, mute ? 'mute' : 'unmute');
    if (data && this.call) this.applyMute(data.mute ?? mute);
  }

  async leave() {
    const data = await this.send('/leave', {}, 'leave the call');
    if (data !== null) flash('You left the call.');
  }

  async finishTransfer(verb) {
    const transfer = this.call && this.call.transfer;
    if (!transfer || this.busy) return;
    this.busy = true;
    this.render();
    try {
      const data = await this.api.post(`/api/transfers/${encodeURIComponent(transfer.id)}/${verb}`);
      const done = { ...transfer, ...((data && data.transfer) || {}), id: transfer.id };
      if (!done.state || !TRANSFER_DONE.includes(done.state)) done.state = verb === 'complete' ? 'completed' : 'canceled';
      if (this.call && this.call.transfer && this.call.transfer.id === transfer.id) this.applyTransfer(done);
      else this.announce(done);          // the first agent's part ended before the answer came
    } catch (err) {
      if (err.status !== 401) {
        flash(`Could not ${verb === 'complete' ? 'complete' : 'cancel'} the transfer: ${err.message}`, 'error');
      }
    } finally {
      this.busy = false;
      this.render();
    }
  }

  // ------------------------------------------------------------ what the service says

  applyHold(hold, holdS) {
    this.call.hold = Boolean(hold);
    if (holdS !== undefined && holdS !== null && Number.isFinite(Number(holdS))) this.call.hold_s = Number(holdS);
    this.render();
  }

  applyMute(mute) {
    this.call.mute = Boolean(mute);
    const sdkCall = this.softphone && this.softphone.call;
    if (sdkCall && typeof sdkCall.mute === 'function') sdkCall.mute(this.call.mute);   // this browser's mic too
    this.render();
  }

  /** A transfer's state (the POST's answer, an event, a Complete / Cancel answer); an event carries
   *  only what changed, so it is merged into what is known of the same transfer. */
  applyTransfer(transfer) {
    if (!this.call) return;
    const id = transfer.id ?? transfer.transfer_id;
    const known = this.call.transfer && this.call.transfer.id === id ? this.call.transfer : null;
    const changed = Object.fromEntries(Object.entries(transfer).filter(([, v]) => v !== undefined && v !== null));
    const t = { ...(known || {}), ...changed, id };
    delete t.transfer_id;
    if (TRANSFER_DONE.includes(t.state)) {
      if (this.call.transfer && this.call.transfer.id !== t.id) return;     // an older one
      this.call.transfer = null;
      this.refresh();                   // who is primary now, hold, parties
      this.announce(t);
    } else {
      this.call.transfer = t;
      if (!t.by) this.refresh();        // an event of a transfer this page did not see start
    }
    this.render();
  }

  /** Say how a transfer ended (it may end after the call left this page). */
  announce(t) {
    const target = this.targetName(t);
    const mine = t.by === this.agentId;
    if (t.state === 'completed') {
      flash(mine ? `Transferred to ${target}.` : `The transfer from ${this.directory.name(t.by)} is complete: the caller is with you.`);
    } else if (t.state === 'canceled') {
      flash(mine ? `The transfer to ${target} was canceled; you are back with the caller.` : 'The transfer was canceled.', 'warn');
    } else {
      const why = t.why || t.reason;
      flash(`The transfer to ${target} failed${why ? ` (${String(why).replace(/_/g, ' ')})` : ''}.`, 'error');
    }
  }

  targetName(t) {
    if (t.agent) return this.directory.name(t.agent);
    return this.directory.describe(t.to);
  }

  /** A stream event for the call shown here (others are ignored). */
  onEvent(kind, data) {
    if (!this.call || !data || (data.call_sid && data.call_sid !== this.call.call_sid)) return;
    if (kind === 'held') this.applyHold(true, data.hold_s);
    else if (kind === 'resumed') this.applyHold(false, data.hold_s);
    else if (kind === 'muted') {
      if (!data.agent || data.agent === this.agentId) this.applyMute(data.mute);
    } else if (kind === 'transfer') this.applyTransfer(data);
    else if (kind === 'party_joined' && data.party) {
      this.call.parties.set(String(data.party.id), data.party);
      this.render();
    } else if (kind === 'party_left' && data.party) {
      this.call.parties.delete(String(data.party.id));
      this.render();
    } else if (kind === 'monitored') {
      if (!data.mode || data.mode === 'off') this.call.monitors.delete(data.by);
      else this.call.monitors.set(data.by, data);
      this.render();
    }
  }

  // ------------------------------------------------------------ the page

  currentPhase() {
    const t = this.call.transfer;
    if (t && t.state === 'consulting' && (t.by === this.agentId || t.agent === this.agentId)) {
      const other = t.by === this.agentId ? this.targetName(t) : this.directory.name(t.by);
      return { key: `consulting:${other}`, label: `${PHASE_TEXT.consulting} ${other}`, kind: 'consulting' };
    }
    if (this.call.hold) return { key: 'hold', label: PHASE_TEXT.hold, kind: 'hold' };
    return { key: 'talking', label: PHASE_TEXT.talking, kind: 'talking' };
  }

  render() {
    const call = this.call;
    if (!call) return;
    const phase = this.currentPhase();
    if (!this.phase || this.phase.key !== phase.key) this.phase = { key: phase.key, since: Date.now() };
    const stateEl = $('#call-state');
    stateEl.dataset.state = phase.kind;
    fill($('#call-state-text'), phase.label);
    const hold = $('#hold');
    fill(hold, call.hold ? 'Resume' : 'Hold');
    hold.setAttribute('aria-pressed', String(call.hold));
    const mute = $('#mute');
    fill(mute, call.mute ? 'Unmute' : 'Mute');
    mute.setAttribute('aria-pressed', String(call.mute));
    const notPrimary = Boolean(call.primary) && call.primary !== this.agentId;    // a consulted agent, a party
    const off = this.busy || !$('#session-ended').hidden;                        // a request out, or signed out
    for (const id of ['#mute', '#leave', '#add-party-open']) $(id).disabled = off;
    $('#hold').disabled = off || notPrimary;
    $('#transfer-open').disabled = off || notPrimary || Boolean(call.transfer);
    this.renderTransfer();
    this.renderParties();
    this.renderMonitors();
    this.tick();
  }

  renderTransfer() {
    const t = this.call.transfer;
    show($('#transfer-status'), Boolean(t));
    if (!t) return;
    const target = this.targetName(t);
    const mine = t.by === this.agentId;
    const box = $('#transfer-status');
    box.dataset.state = t.state || 'unknown';
    let text;
    if (!mine) text = `Transfer from ${this.directory.name(t.by)}: ${t.state === 'consulting' ? 'consulting' : t.state}`;
    else if (t.state === 'ringing') text = `Ringing ${target}…`;
    else if (t.state === 'consulting') text = `Consulting ${target}`;
    else text = `Transfer to ${target}: ${t.state}`;
    fill($('#transfer-status-text'), text, t.mode === 'cold' ? ' (cold)' : '',
      t.notes ? h('span', { className: 'muted transfer-notes' }, ` — ${t.notes}`) : '');
    show($('#transfer-complete'), mine);
    show($('#transfer-cancel'), mine);
    const off = this.busy || !$('#session-ended').hidden;
    $('#transfer-complete').disabled = off || t.state !== 'consulting';
    $('#transfer-cancel').disabled = off;
  }

  renderParties() {
    const parties = [...this.call.parties.values()];
    show($('#parties-box'), parties.length > 0);
    fill($('#parties'), parties.map((p) => {
      const me = p.kind === 'agent' && p.who === this.agentId;
      const who = p.kind === 'agent' ? this.directory.name(p.who) : String(p.who ?? '?');
      const removable = !me && p.role !== 'primary' && (this.call.primary === this.agentId || !this.call.primary);
      return h('li', { dataset: { party: String(p.id), role: p.role || '', state: p.state || '' } },
        h('span', { className: 'party-who' }, me ? `${who} (you)` : who),
        h('span', { className: 'muted' }, ` · ${p.role || 'party'}${p.state && p.state !== 'joined' ? ` · ${p.state}` : ''}`),
        removable ? h('button', { type: 'button', className: 'small party-remove', onclick: () => this.removeParty(p) },
          'Remove') : null);
    }));
  }

  async removeParty(party) {
    const data = await this.send('/conference', { remove: String(party.id) }, 'remove the party');
    if (data !== null && this.call) {
      this.call.parties.delete(String(party.id));
      this.render();
    }
  }

  renderMonitors() {
    const monitors = [...this.call.monitors.values()];
    show($('#monitored'), monitors.length > 0);
    fill($('#monitored'), monitors.length ? `Monitored by ${monitors.map((m) =>
      `${m.by} (${MONITOR_TEXT[m.mode] || m.mode})`).join(', ')}` : '');
  }

  /** The running timer of the state shown (every 250 ms from the page's clock). */
  tick() {
    if (!this.call || !this.phase) return;
    fill($('#call-state-timer'), duration((Date.now() - this.phase.since) / 1000));
  }
}
