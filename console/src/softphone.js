// The browser softphone: the Twilio Voice JS SDK's Device, registered with the token from
// GET /api/agents/<id>/token. The ACD dials <Client>agent_id</Client> once the agent accepts an
// offer; the console answers that call here. When Twilio cannot be reached the console keeps
// working (offers, accept, wrap-up): it only says "Softphone offline: …".
import { Device } from '@twilio/voice-sdk';

const REGISTER_TIMEOUT_MS = 10000;
const SOUND_NAMES = ['incoming', 'outgoing', 'disconnect', 'dtmf0', 'dtmf1', 'dtmf2', 'dtmf3', 'dtmf4', 'dtmf5',
  'dtmf6', 'dtmf7', 'dtmf8', 'dtmf9', 'dtmfs', 'dtmfh'];

export class Softphone {
  /**
   * @param api        the console's Api
   * @param agentId    the agent (the token's identity)
   * @param hooks      {onState(kind, text), onIncoming(call), onCallEnded(call)}
   */
  constructor(api, agentId, hooks) {
    this.api = api;
    this.agentId = agentId;
    this.hooks = hooks;
    this.device = null;
    this.call = null;            // the SDK call this browser holds, if any
    this.registered = false;
  }

  async token() {
    const data = await this.api.get(`/api/agents/${encodeURIComponent(this.agentId)}/token`);
    return data.token;
  }

  offline(reason) {
    this.registered = false;
    this.hooks.onState('offline',
      `Softphone offline: ${reason}. Offers still arrive here and can be accepted; the call rings on another phone.`);
  }

  /**
   * @param soundsBase URL of the folder of the tones built by console/build.mjs (never Twilio's CDN)
   * @param twilio     the page's {mode, text}: with no live Twilio the SDK is not started at all
   */
  async start(soundsBase, twilio) {
    if (twilio && twilio.mode === 'simulated') {
      this.hooks.onState('simulated', 'Softphone: simulated (no Twilio here); your calls ring the simulator\'s phone.');
      return;
    }
    if (twilio && twilio.mode === 'unconfigured') {
      this.offline('no Twilio account is set up');
      return;
    }
    this.hooks.onState('connecting', 'Softphone: connecting to Twilio…');
    if (!Device.isSupported) {
      this.offline('this browser does not support WebRTC calls');
      return;
    }
    let token;
    try {
      token = await this.token();
    } catch (err) {
      this.offline(`no access token (${err.message})`);
      return;
    }
    try {
      this.device = new Device(token, {
        sounds: Object.fromEntries(SOUND_NAMES.map((name) => [name, new URL(`${name}.wav`, soundsBase).href])),
        closeProtection: 'A call is in progress on this page.',
        logLevel: 'warn',
        codecPreferences: ['opus', 'pcmu'],
        tokenRefreshMs: 30000,
      });
    } catch (err) {
      this.offline(err.message || String(err));
      return;
    }
    const device = this.device;
    device.on('registered', () => {
      this.registered = true;
      this.hooks.onState('ready', 'Softphone ready: calls ring in this browser.');
    });
    device.on('unregistered', () => {
      if (this.registered) this.offline('unregistered from Twilio');
    });
    device.on('error', (err) => {
      let detail = String((err && (err.description || err.message || err.name)) || 'error');
      if (err && err.code && !detail.includes(String(err.code))) detail += ` (${err.code})`;
      const unreachable = /connection|transport|signal/i.test(`${err && err.name} ${detail}`);
      this.offline(unreachable ? `could not reach Twilio: ${detail}` : `Twilio refused the softphone: ${detail}`);
    });
    device.on('tokenWillExpire', async () => {
      try {
        device.updateToken(await this.token());
      } catch (err) {
        this.offline(`the access token could not be renewed (${err.message})`);
      }
    });
    device.on('incoming', (call) => this.incoming(call));

    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Twilio did not answer within ${REGISTER_TIMEOUT_MS / 1000} s`)), REGISTER_TIMEOUT_MS);
    });
    try {
      await Promise.race([device.register(), timeout]);
    } catch (err) {
      // The SDK keeps retrying by itself; 'registered' switches the state back when it succeeds.
      if (!this.registered) this.offline(err.message || String(err));
    } finally {
      clearTimeout(timer);
    }
  }

  incoming(call) {
    this.call = call;
    const done = () => {
      if (this.call === call) this.call = null;
      this.hooks.onCallEnded(call);
    };
    call.on('disconnect', done);
    call.on('cancel', done);
    call.on('reject', done);
    call.on('error', (err) => this.hooks.onState(this.registered ? 'ready' : 'offline', `Softphone call error: ${err.message || err}`));
    this.hooks.onIncoming(call);
  }

  answer() {
    if (this.call) this.call.accept();
  }

  hangUp() {
    if (this.call) this.call.disconnect();
  }
}

export { SOUND_NAMES };
