// Builds the agent console's browser code into ../webhooks/static/dist/ (git-ignored):
//   agent.js      the page's script with the Twilio Voice JS SDK bundled in (no CDN, nothing external)
//   sounds/*.wav  the softphone's ring, disconnect and DTMF tones, generated here, so the SDK never
//                 fetches its default sounds from sdk.twilio.com
//   supervisor.js the supervisor board (/supervisor) with uPlot and the Voice SDK (the monitoring softphone,
//                 started only when asked) bundled in, and supervisor.css (uPlot's)
//   reports.js    the reports page (/reports)
//   calls.js      the call search page (/calls)
// Run by `make run` / `make test` through `npm ci && npm run build` when these files change.
import { build } from 'esbuild';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', 'webhooks', 'static', 'dist');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'sounds'), { recursive: true });

// --- tones: 8 kHz, 16-bit mono PCM WAV ---------------------------------------------------
const RATE = 8000;
function wav(segments) {        // segments: [{ms, freqs: [hz, ...]}] (no freqs = silence)
  const samples = [];
  for (const { ms, freqs = [] } of segments) {
    const n = Math.round((RATE * ms) / 1000);
    for (let i = 0; i < n; i++) {
      const fade = Math.min(1, i / 80, (n - i) / 80);          // no clicks at the edges
      const v = freqs.reduce((sum, f) => sum + Math.sin((2 * Math.PI * f * i) / RATE), 0);
      samples.push(freqs.length ? Math.round((v / freqs.length) * 0.35 * fade * 32767) : 0);
    }
  }
  const buf = Buffer.alloc(44 + samples.length * 2);
  buf.write('RIFF', 0); buf.writeUInt32LE(36 + samples.length * 2, 4); buf.write('WAVE', 8);
  buf.write('fmt ', 12); buf.writeUInt32LE(16, 16); buf.writeUInt16LE(1, 20); buf.writeUInt16LE(1, 22);
  buf.writeUInt32LE(RATE, 24); buf.writeUInt32LE(RATE * 2, 28); buf.writeUInt16LE(2, 32); buf.writeUInt16LE(16, 34);
  buf.write('data', 36); buf.writeUInt32LE(samples.length * 2, 40);
  samples.forEach((s, i) => buf.writeInt16LE(s, 44 + i * 2));
  return buf;
}
const DTMF = { 1: [697, 1209], 2: [697, 1336], 3: [697, 1477], 4: [770, 1209], 5: [770, 1336], 6: [770, 1477],
               7: [852, 1209], 8: [852, 1336], 9: [852, 1477], s: [941, 1209], 0: [941, 1336], h: [941, 1477] };
const sounds = {
  incoming: wav([{ ms: 400, freqs: [440, 480] }, { ms: 200 }, { ms: 400, freqs: [440, 480] }, { ms: 2000 }]),
  outgoing: wav([{ ms: 300, freqs: [440, 480] }]),
  disconnect: wav([{ ms: 200, freqs: [480, 620] }, { ms: 100 }, { ms: 200, freqs: [480, 620] }]),
};
for (const [key, freqs] of Object.entries(DTMF)) sounds[`dtmf${key}`] = wav([{ ms: 150, freqs }]);
for (const [name, data] of Object.entries(sounds)) writeFileSync(join(out, 'sounds', `${name}.wav`), data);

// --- the scripts: one self-contained file per page, minified, with source maps and licences beside ---
const page = {
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2020'],
  minify: true,
  sourcemap: true,
  legalComments: 'linked',
  logLevel: 'info',
};

// the agent console (the Voice SDK expects Node's `global` and NODE_ENV)
await build({
  ...page,
  entryPoints: [join(here, 'src', 'agent.js')],
  outfile: join(out, 'agent.js'),
  define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
});

// the supervisor's pages (/supervisor, /reports), their CSS imports beside them (the board's
// monitoring softphone is the Voice SDK too)
await build({
  ...page,
  entryPoints: { supervisor: join(here, 'src', 'supervisor.js'), reports: join(here, 'src', 'reports.js'),
    calls: join(here, 'src', 'calls.js') },
  outdir: out,
  define: { 'process.env.NODE_ENV': '"production"', global: 'globalThis' },
});
