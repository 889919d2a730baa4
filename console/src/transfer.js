// The agent console's Transfer… and Add party… panels: a target out of the directory (an agent, a
// queue or a +E164 number), the transfer's mode (warm: talk to them first; cold: hand over now) and
// notes for the next agent; POST /api/calls/<sid>/transfer or /conference. The directory is read
// again every few seconds while a panel is open, so statuses and free agents stay current.
import { $, fill, flash, show } from './dom.js';
import { TargetPicker } from './directory.js';

const REFRESH_MS = 5000;

export class TransferPanels {
  /** @param deps {api, agentId, directory, controls} */
  constructor({ api, agentId, directory, controls }) {
    this.api = api;
    this.agentId = agentId;
    this.directory = directory;
    this.controls = controls;
    this.open = null;           // 'transfer' | 'party' | null
    this.timer = null;
    const now = () => api.now();
    this.pickers = {
      transfer: new TargetPicker($('#transfer-directory'), directory, { name: 'transfer-target', numberId: 'transfer-number', self: agentId, now }),
      party: new TargetPicker($('#party-directory'), directory, { name: 'party-target', numberId: 'party-number', queues: false, self: agentId, now }),
    };
    $('#transfer-open').addEventListener('click', () => this.show('transfer'));
    $('#add-party-open').addEventListener('click', () => this.show('party'));
    $('#transfer-close').addEventListener('click', () => this.close());
    $('#party-close').addEventListener('click', () => this.close());
    $('#transfer-refresh').addEventListener('click', () => this.reload(true));
    $('#party-refresh').addEventListener('click', () => this.reload(true));
    $('#transfer-form').addEventListener('submit', (e) => this.submitTransfer(e));
    $('#party-form').addEventListener('submit', (e) => this.submitParty(e));
  }

  show(which) {
    if (!this.controls.call) return;
    this.open = which;
    show($('#transfer-panel'), which === 'transfer');
    show($('#party-panel'), which === 'party');
    fill($(`#${which}-note`));
    this.pickers[which].render();            // what is known already, at once
    this.reload(true);
    clearInterval(this.timer);
    this.timer = setInterval(() => this.reload(false), REFRESH_MS);
  }

  close() {
    this.open = null;
    clearInterval(this.timer);
    this.timer = null;
    show($('#transfer-panel'), false);
    show($('#party-panel'), false);
  }

  async reload(sayErrors) {
    const which = this.open;
    if (!which) return;
    try {
      await this.directory.load();
    } catch (err) {
      if (sayErrors && err.status !== 401) {
        fill($(`#${which}-note`), `Could not load the directory: ${err.message}`);
        flash(`Could not load the directory: ${err.message}`, 'error');
      }
      return;
    }
    if (this.open === which) this.pickers[which].render();
  }

  callPath(suffix) {
    return `/api/calls/${encodeURIComponent(this.controls.call.call_sid)}${suffix}`;
  }

  async submitTransfer(event) {
    event.preventDefault();
    if (!this.controls.call) return;
    const note = $('#transfer-note');
    let to;
    try {
      to = this.pickers.transfer.value();
    } catch (err) {
      fill(note, err.message);
      return;
    }
    const mode = $('#transfer-mode').value === 'cold' ? 'cold' : 'warm';
    const notes = $('#transfer-notes').value.replace(/\s+/g, ' ').trim();      // the API takes one line
    const submit = $('#transfer-submit');
    submit.disabled = true;
    fill(note, 'Transferring…');
    try {
      const data = (await this.api.post(this.callPath('/transfer'), { to, mode, notes })) || {};
      fill(note);
      $('#transfer-form').reset();
      this.close();
      const target = this.directory.describe(to);
      if (mode === 'cold') flash(`Transferring the caller to ${target}…`);
      if (this.controls.call) {
        this.controls.applyTransfer({ id: data.transfer_id, state: data.state || (mode === 'warm' ? 'ringing' : 'completed'),
          mode, to, notes, by: this.agentId, agent: to.agent || data.agent || null });
      }
    } catch (err) {
      if (err.status !== 401) {
        fill(note, `Could not transfer: ${err.message}`);
        flash(`Could not transfer: ${err.message}`, 'error');
      }
    } finally {
      submit.disabled = false;
    }
  }

  async submitParty(event) {
    event.preventDefault();
    if (!this.controls.call) return;
    const note = $('#party-note');
    let add;
    try {
      add = this.pickers.party.value();
    } catch (err) {
      fill(note, err.message);
      return;
    }
    const submit = $('#add-party');
    submit.disabled = true;
    fill(note, 'Calling…');
    try {
      const data = (await this.api.post(this.callPath('/conference'), { add })) || {};
      fill(note);
      $('#party-form').reset();
      this.close();
      flash(`Adding ${this.directory.describe(add)} to the call…`);
      const call = this.controls.call;
      if (call && data.party_id !== undefined && !call.parties.has(String(data.party_id))) {
        call.parties.set(String(data.party_id), { id: data.party_id, kind: add.agent ? 'agent' : 'number',
          who: add.agent || add.number, role: 'party', state: data.state || 'ringing' });
        this.controls.render();
      }
    } catch (err) {
      if (err.status !== 401) {
        fill(note, `Could not add the party: ${err.message}`);
        flash(`Could not add the party: ${err.message}`, 'error');
      }
    } finally {
      submit.disabled = false;
    }
  }
}
