// The supervisor board's monitoring: on each busy agent's row Listen / Whisper / Barge / Stop
// (POST /api/calls/<call_sid>/monitor, one request per change of mode) and who monitors the call
// (GET /api/stats agents[id].monitor); the supervisor's own mode is highlighted. The supervisor's
// softphone (the Twilio Voice SDK, identity "supervisor-<username>" from GET /api/softphone/token)
// starts only when asked, and says "Softphone offline: …" when Twilio cannot be reached.
import { $, fill, flash, h, setLine, show } from './dom.js';
import { Softphone } from './softphone.js';

export const MODES = ['listen', 'whisper', 'barge'];
const MODE_TEXT = { listen: 'Listen', whisper: 'Whisper', barge: 'Barge' };
const DOING = { listen: 'listening to', whisper: 'whispering to', barge: 'barged into the call of' };

class SupervisorSoftphone extends Softphone {
  async token() {
    return (await this.api.get('/api/softphone/token')).token;
  }

  offline(reason) {
    this.registered = false;
    this.hooks.onState('offline', `Softphone offline: ${reason}. Monitoring still connects your line; `
      + 'answer where it rings.');
  }
}

export class Monitoring {
  /** @param deps {api, username, name(id) -> display name, onChange() after a change of mode, twilio} */
  constructor({ api, username, name, onChange, twilio }) {
    this.api = api;
    this.twilio = twilio;         // the page's {mode, text}: no SDK without a live Twilio
    this.username = username;
    this.name = name;
    this.onChange = onChange;
    this.mine = null;             // {agent, call_sid, mode, identity}: what this supervisor monitors
    this.sending = false;
    this.softphone = null;
    $('#softphone-start').addEventListener('click', () => this.startSoftphone());
    $('#monitor-stop').addEventListener('click', () => this.mine && this.set(this.mine.agent, this.mine.call_sid, 'off'));
  }

  /** The cell of an agent's row: the badge and the buttons; `update` fills it from the stats. */
  cell(agentId) {
    const badge = h('span', { className: 'monitor-badge', hidden: true });
    const buttons = {};
    for (const mode of [...MODES, 'off']) {
      buttons[mode] = h('button', { type: 'button', className: 'small', dataset: { monitor: mode },
        'aria-pressed': 'false' }, mode === 'off' ? 'Stop' : MODE_TEXT[mode]);
    }
    const group = h('span', { className: 'monitor-buttons', role: 'group', 'aria-label': 'Monitor' },
      Object.values(buttons));
    const root = h('td', { className: 'monitor-cell' }, badge, ' ', group);
    const row = { root, badge, group, buttons, agentId, callSid: null };
    for (const [mode, button] of Object.entries(buttons)) {
      button.addEventListener('click', () => {
        const current = this.mine && this.mine.agent === agentId ? this.mine.mode : 'off';
        if (row.callSid && mode !== current) this.set(agentId, row.callSid, mode);
      });
    }
    return row;
  }

  /** From the stats: agents[id] = {status, call_sid, monitor: {by, mode} | null}. */
  update(row, agent, over) {
    const callSid = agent.status === 'busy' && agent.call_sid ? String(agent.call_sid) : null;
    row.callSid = callSid;
    const monitor = agent.monitor && agent.monitor.mode && agent.monitor.mode !== 'off' ? agent.monitor : null;
    const byMe = monitor && monitor.by === this.username;
    const fresh = this.mine && Date.now() - this.mine.at < 3000;      // the stats may not show our POST yet
    if (byMe && !fresh) this.mine = { ...this.mine, agent: row.agentId, call_sid: callSid, mode: monitor.mode, at: 0 };
    else if (!byMe && this.mine && this.mine.agent === row.agentId && !this.sending && !fresh) this.mine = null;
    show(row.badge, Boolean(monitor));
    fill(row.badge, monitor ? `Monitored by ${monitor.by} (${monitor.mode})` : '');
    row.badge.dataset.mine = String(Boolean(byMe));
    row.root.closest('tr')?.setAttribute('data-monitored', monitor ? monitor.mode : '');
    const myMode = this.mine && this.mine.agent === row.agentId ? this.mine.mode : null;
    show(row.group, Boolean(callSid));             // only a busy agent's call can be monitored
    for (const [mode, button] of Object.entries(row.buttons)) {
      button.disabled = over || this.sending || !callSid || (mode === 'off' && !myMode);
      button.setAttribute('aria-pressed', String(mode === myMode));
    }
    this.renderLine();
  }

  renderLine() {
    const mine = this.mine;
    fill($('#monitor-text'), mine ? `You are ${DOING[mine.mode] || mine.mode} ${this.name(mine.agent)}`
      + `${mine.identity ? ` (your line: ${mine.identity})` : ''}.` : 'You are not monitoring a call.');
    $('#monitor-line').dataset.mode = mine ? mine.mode : 'off';
    show($('#monitor-stop'), Boolean(mine));
  }

  async set(agentId, callSid, mode) {
    if (this.sending) return;
    this.sending = true;
    const label = this.name(agentId);
    try {
      const data = (await this.api.post(`/api/calls/${encodeURIComponent(callSid)}/monitor`, { mode })) || {};
      const now = data.mode || mode;
      this.mine = now === 'off' ? null
        : { agent: agentId, call_sid: callSid, mode: now, identity: data.identity, at: Date.now() };
      flash(now === 'off' ? `You stopped monitoring ${label}.` : `You are ${DOING[now] || now} ${label}`
        + `${data.identity ? `: your line ${data.identity} is connected` : ''}.`);
    } catch (err) {
      if (err.status !== 401) flash(`Could not ${mode === 'off' ? 'stop monitoring' : MODE_TEXT[mode].toLowerCase()} `
        + `${label}: ${err.message}`, 'error');
    } finally {
      this.sending = false;
      this.renderLine();
      if (this.onChange) this.onChange();
    }
  }

  // ------------------------------------------------------------ the softphone, when asked for

  startSoftphone() {
    if (this.softphone) return;
    $('#softphone-start').disabled = true;
    this.softphone = new SupervisorSoftphone(this.api, this.username, {
      onState: (kind, text) => setLine($('#softphone'), kind, text),
      onIncoming: (call) => {               // a monitoring leg: answer it at once
        call.accept();
        flash('Softphone: the monitored call is on this browser.');
      },
      onCallEnded: () => {},
    });
    const script = document.querySelector('script[src*="dist/supervisor.js"]');
    const base = new URL('sounds/', script ? script.src : new URL('/static/dist/', window.location.href)).href;
    this.softphone.start(base, this.twilio);
  }
}
