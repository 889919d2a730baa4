// The board's alerts, heard and seen outside the page: a short tone (made in the page with Web Audio,
// no file) and a desktop notification (once the supervisor allowed them) for each alert that was not
// up at the last update. An alert is known by its text without its figures, so a wait that keeps
// growing is one alert, not a new one every second.
import { $, fill } from './dom.js';

const key = (text) => text.replace(/[\d.,:%]+/g, '#');

export class AlertNotifier {
  constructor() {
    this.on = false;
    this.seen = new Set();
    this.audio = null;
    this.rang = [];               // what was announced (for the browser test and the developer tools)
    $('#alerts-notify').addEventListener('click', () => this.toggle());
    this.render();
  }

  async toggle() {
    this.on = !this.on;
    if (this.on) {
      this.audio = this.audio || new (window.AudioContext || window.webkitAudioContext)();
      if (window.Notification && Notification.permission === 'default') {
        try {
          await Notification.requestPermission();
        } catch {
          // a browser that refuses to ask: sound only
        }
      }
    }
    this.render();
  }

  render() {
    const button = $('#alerts-notify');
    button.setAttribute('aria-pressed', String(this.on));
    fill(button, this.on ? 'Alert sound on' : 'Alert sound off');
    const desktop = window.Notification && Notification.permission === 'granted';
    fill($('#alerts-notify-note'), this.on ? (desktop ? 'with desktop notifications' : 'desktop notifications not allowed') : '');
  }

  /** The alerts shown now: announce the new ones. */
  update(alerts) {
    const now = new Set(alerts.map(key));
    const fresh = alerts.filter((text) => !this.seen.has(key(text)));
    this.seen = now;
    if (!this.on || fresh.length === 0) return;
    this.rang.push(...fresh);
    this.beep();
    if (window.Notification && Notification.permission === 'granted') {
      for (const text of fresh) {
        try {
          new Notification('callrouter alert', { body: text, tag: key(text) });   // eslint-disable-line no-new
        } catch {
          // notifications may be blocked for the page: the banner and the tone remain
        }
      }
    }
  }

  beep() {
    const ctx = this.audio;
    if (!ctx) return;
    const tone = ctx.createOscillator();
    const gain = ctx.createGain();
    tone.frequency.value = 880;
    gain.gain.setValueAtTime(0.15, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + 0.35);
    tone.connect(gain).connect(ctx.destination);
    tone.start();
    tone.stop(ctx.currentTime + 0.35);
  }
}
