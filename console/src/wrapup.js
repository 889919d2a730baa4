// The agent console's wrap-up form: disposition and notes (POST /api/calls/<sid>/wrapup), headed by
// the caller and a countdown to the queue's wrap-up time.
import { $, fill, flash, h, show } from './dom.js';
import { duration } from './pop.js';

const DEFAULT_DISPOSITIONS = ['resolved', 'follow-up', 'escalated', 'no-resolution'];

export class WrapUp {
  /** @param deps {api, agentId, timeZone, statusText, onStatus(status), onSaved()} */
  constructor({ api, agentId, timeZone, statusText, onStatus, onSaved }) {
    this.api = api;
    this.agentId = agentId;
    this.timeZone = timeZone;
    this.statusText = statusText;
    this.onStatus = onStatus;
    this.onSaved = onSaved;     // the call's record is about to change: the list of calls reads it again
    this.current = null;        // {call_sid, queue}
    this.queues = {};           // GET /api/queues: the dispositions per queue
    $('#wrapup-form').addEventListener('submit', (e) => this.submit(e));
  }

  /** `who`: the caller as the agent knew them (name or number); `since`: when the wrap-up began
   *  (server epoch seconds), for the countdown to the queue's wrap-up time. */
  start(callSid, queue, who = null, since = null) {
    const prior = this.current && this.current.call_sid === callSid ? this.current : {};
    if (!prior.call_sid) $('#notes').value = '';          // not the notes of an earlier call
    this.current = { call_sid: callSid, queue, who: who || prior.who, since: since || prior.since || this.api.now() };
    const list = (this.queues[queue] && this.queues[queue].dispositions) || DEFAULT_DISPOSITIONS;
    const select = $('#disposition');
    fill(select, h('option', { value: '' }, 'Choose…'), list.map((d) => h('option', { value: d }, d)));
    fill($('#wrapup-call'), this.current.who || 'the call', queue ? ` · ${queue}` : '');
    this.tick();
    fill($('#wrapup-note'));
    $('#wrapup-submit').disabled = false;
    show($('#wrapup'), true);
    select.focus();
  }

  /** The notes taken during the call (or, after a reload, those the service kept) start the form's. */
  async prefill(taken) {
    const wrap = this.current;
    if (taken) {
      if (!$('#notes').value) $('#notes').value = taken;
      return;
    }
    try {
      const data = await this.api.get(`/api/calls/${encodeURIComponent(wrap.call_sid)}/notes`);
      if (this.current === wrap && !$('#notes').value && data && data.notes) $('#notes').value = data.notes;
    } catch {
      // nothing kept, or the service is away: the form is empty
    }
  }

  /** The time left before the wrap-up ends by itself (the queue's wrapup_s), once a second. */
  tick() {
    const wrap = this.current;
    const limit = wrap && this.queues[wrap.queue] ? Number(this.queues[wrap.queue].wrapup_s) : NaN;
    const el = $('#wrapup-countdown');
    if (!wrap || !Number.isFinite(limit)) {
      fill(el);
      return;
    }
    const left = Math.max(0, wrap.since + limit - this.api.now());
    fill(el, left > 0 ? `${duration(left)} left` : 'time is up');
    el.dataset.urgent = String(left <= 10);
  }

  hide() {
    this.current = null;
    show($('#wrapup'), false);
  }

  async loadQueues() {
    try {
      this.queues = (await this.api.get('/api/queues')).queues || {};
    } catch (err) {
      if (err.status !== 401) flash(`Could not load the queues' dispositions: ${err.message}`, 'error');
      return;
    }
    // the queues' dispositions arrived after a wrap-up began: offer the right list
    if (this.current && !$('#disposition').value) this.start(this.current.call_sid, this.current.queue);
    this.tick();
  }

  async submit(event) {
    event.preventDefault();
    const wrap = this.current;
    if (!wrap) return;
    const disposition = $('#disposition').value;
    if (!disposition) {
      fill($('#wrapup-note'), 'Choose a disposition.');
      return;
    }
    $('#wrapup-submit').disabled = true;
    fill($('#wrapup-note'), 'Saving…');
    try {
      const data = await this.api.post(`/api/calls/${encodeURIComponent(wrap.call_sid)}/wrapup`,
        { disposition, notes: $('#notes').value });
      this.current = null;
      $('#wrapup-form').reset();
      show($('#wrapup'), false);
      if (data && data.status) this.onStatus(data.status);
      flash(`Wrap-up saved${data && data.status ? `; you are ${this.statusText[data.status] || data.status}` : ''}.`);
      this.onSaved();
    } catch (err) {
      $('#wrapup-submit').disabled = false;
      if (err.status === 404) {
        fill($('#wrapup-note'), 'This call is no longer known to the service (its wrap-up time may be over).');
      } else if (err.status !== 401) {
        fill($('#wrapup-note'), `Could not save: ${err.message}`);
      }
    }
  }
}
