// Notes during the call: the in-call view's textarea, kept with the call as the agent types
// (PUT /api/calls/<sid>/notes, a moment after the last key), restored after a reload
// (GET …/notes) and carried into the wrap-up form. Saved notes reach the call record even when the
// wrap-up ends by its timer.
import { $, fill } from './dom.js';

const SAVE_AFTER_MS = 700;

export class CallNotes {
  constructor({ api }) {
    this.api = api;
    this.sid = null;
    this.timer = null;
    this.saved = '';
    $('#call-notes').addEventListener('input', () => this.changed());
  }

  path(sid) {
    return `/api/calls/${encodeURIComponent(sid)}/notes`;
  }

  get text() {
    return $('#call-notes').value;
  }

  /** A call began (or the page was reloaded during one): an empty box, then what was kept. */
  async start(callSid) {
    if (this.sid === callSid) return;
    this.sid = callSid;
    this.saved = '';
    $('#call-notes').value = '';
    fill($('#call-notes-state'));
    try {
      const data = await this.api.get(this.path(callSid));
      if (this.sid === callSid && !this.text && data && data.notes) {
        $('#call-notes').value = data.notes;
        this.saved = data.notes;
        fill($('#call-notes-state'), 'Saved');
      }
    } catch {
      // not on the call any more, or the service is away: the box still takes notes
    }
  }

  changed() {
    clearTimeout(this.timer);
    fill($('#call-notes-state'), 'Typing…');
    this.timer = setTimeout(() => this.save(), SAVE_AFTER_MS);
  }

  /** Keep what is typed now; the text. */
  async save() {
    clearTimeout(this.timer);
    this.timer = null;
    const sid = this.sid;
    const text = this.text;
    if (!sid || text === this.saved) return text;
    fill($('#call-notes-state'), 'Saving…');
    try {
      await this.api.request('PUT', this.path(sid), { notes: text });
      if (this.sid === sid) {
        this.saved = text;
        fill($('#call-notes-state'), this.text === text ? 'Saved' : 'Typing…');
      }
    } catch (err) {
      if (this.sid === sid) fill($('#call-notes-state'), `Not saved: ${err.message}`);
    }
    return text;
  }

  /** The call ended: what was typed, kept (the wrap-up form starts from it). */
  finish() {
    const text = this.text;
    if (this.sid) this.save();
    this.sid = null;
    return text;
  }
}
