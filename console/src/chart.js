// The supervisor board's day chart: waiting callers (average and peak per 15-minute interval from
// GET /api/stats/intervals, and the live count: each minute's from the same answer, then the stats
// stream's) and service level (per
// interval, and today's so far from the stream), drawn with uPlot (bundled: nothing from a CDN).
// uPlot draws on a canvas and sets styles through the CSSOM only, so the strict CSP holds.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const LIVE_SAMPLES = 1800;          // per queue: half an hour of once-a-second updates
const MIN_WINDOW_S = 3600;          // the chart shows at least the last hour, and the day since its first call

const SERIES = [
  { label: 'Waiting (avg / 15 min)', scale: 'n', stroke: '#1f6feb', width: 2, points: { show: true, size: 5 } },
  { label: 'Waiting (peak / 15 min)', scale: 'n', stroke: '#9a6700', width: 1, dash: [5, 4], points: { show: true, size: 4 } },
  { label: 'Waiting now', scale: 'n', stroke: '#cf222e', width: 2 },
  { label: 'Service level % (15 min)', scale: 'pct', stroke: '#1a7f37', width: 2, points: { show: true, size: 5 } },
  { label: 'Service level % (today)', scale: 'pct', stroke: '#8250df', width: 1, dash: [2, 3] },
];

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const pct = (v) => (num(v) === null ? null : Math.round(v * 1000) / 10);

/** Per queue: the day's intervals and the live samples seen since the page opened. */
export class DayHistory {
  constructor() {
    this.intervals = new Map();     // queue -> [{t, waiting_avg, waiting_peak, service_level}]
    this.live = new Map();          // queue -> [{t, waiting, service_level}]
    this.minutes = new Map();       // queue -> [{t, waiting}]: the server's samples, before the page opened
  }

  setMinutes(queues) {
    this.minutes.clear();
    for (const [name, rows] of Object.entries(queues || {})) {
      if (!Array.isArray(rows)) continue;
      this.minutes.set(name, rows.filter((r) => Array.isArray(r) && Number.isFinite(r[0]))
        .map(([t, waiting]) => ({ t, waiting: num(waiting) })).sort((a, b) => a.t - b.t));
    }
  }

  setIntervals(queues) {
    this.intervals.clear();
    for (const [name, rows] of Object.entries(queues || {})) {
      if (!Array.isArray(rows)) continue;
      const points = [];
      for (const row of rows) {
        const t = Date.parse(row && row.start) / 1000;
        if (!Number.isFinite(t)) continue;
        points.push({ t, waiting_avg: num(row.waiting_avg), waiting_peak: num(row.waiting_peak),
                      service_level: pct(row.service_level),
                      active: Number(row.offered) > 0 || Number(row.waiting_peak) > 0 });
      }
      points.sort((a, b) => a.t - b.t);
      this.intervals.set(name, points);
    }
  }

  addLive(name, t, waiting, serviceLevel) {
    if (!this.live.has(name)) this.live.set(name, []);
    const samples = this.live.get(name);
    const last = samples[samples.length - 1];
    if (last && t <= last.t) return;
    samples.push({ t, waiting: num(waiting), service_level: pct(serviceLevel) });
    if (samples.length > LIVE_SAMPLES) samples.splice(0, samples.length - LIVE_SAMPLES);
  }

  clearLive() {
    this.live.clear();
    this.minutes.clear();
  }

  /** The x range worth showing at `now` (epoch s): the day since its first activity, at least an hour. */
  window(name, now) {
    const firstActive = (this.intervals.get(name) || []).find((p) => p.active);
    const firstLive = (this.live.get(name) || [])[0];
    const firstWaiting = (this.minutes.get(name) || []).find((m) => m.waiting > 0);
    const starts = [now - MIN_WINDOW_S, firstActive && firstActive.t, firstLive && firstLive.t,
      firstWaiting && firstWaiting.t].filter(Number.isFinite);
    return [Math.min(...starts), now + 60];
  }

  /** uPlot's aligned data for one queue: [xs, avg, peak, now, sl interval, sl today]. */
  aligned(name) {
    const rows = new Map();
    const row = (t) => {
      if (!rows.has(t)) rows.set(t, [t, null, null, null, null, null]);
      return rows.get(t);
    };
    for (const p of this.intervals.get(name) || []) {
      const r = row(p.t);
      r[1] = p.waiting_avg;
      r[2] = p.waiting_peak;
      r[4] = p.service_level;
    }
    const live = this.live.get(name) || [];
    const liveFrom = live.length ? live[0].t : Infinity;
    for (const m of this.minutes.get(name) || []) {
      if (m.t < liveFrom) row(m.t)[3] = m.waiting;     // the stream's own samples from when it began
    }
    for (const s of live) {
      const r = row(s.t);
      r[3] = s.waiting;
      r[5] = s.service_level;
    }
    const sorted = [...rows.values()].sort((a, b) => a[0] - b[0]);
    return [0, 1, 2, 3, 4, 5].map((i) => sorted.map((r) => r[i]));
  }
}

/** Count of the values drawn (the x column aside). */
export function pointCount(data) {
  return data.slice(1).reduce((n, column) => n + column.filter((v) => v !== null).length, 0);
}

export class DayChart {
  constructor(el, { timeZone } = {}) {
    this.el = el;
    this.timeZone = timeZone;
    this.plot = null;
    this.data = [[], [], [], [], [], []];
    this.xRange = null;
    if (typeof ResizeObserver === 'function') {
      new ResizeObserver(() => this.resize()).observe(el);
    }
  }

  size() {
    return { width: Math.max(300, Math.floor(this.el.clientWidth || 600)), height: 260 };
  }

  options() {
    const tz = this.timeZone;
    return {
      ...this.size(),
      tzDate: tz ? (ts) => uPlot.tzDate(new Date(ts * 1000), tz) : undefined,
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true, range: (u, min, max) => this.xRange || [min, max] },
        n: { range: (u, min, max) => [0, Math.max(4, Math.ceil((max || 0) * 1.2))] },
        pct: { range: [0, 100] },
      },
      series: [{ label: 'Time' }, ...SERIES.map((s) => ({ spanGaps: true, ...s }))],
      axes: [
        {},
        { scale: 'n', label: 'Callers waiting', size: 50 },
        { scale: 'pct', side: 1, label: 'Service level %', grid: { show: false }, size: 50 },
      ],
      legend: { live: false },
    };
  }

  /** Draw these aligned columns (see DayHistory.aligned) over `range` ([from, to], epoch s). */
  show(data, range = null) {
    this.data = data;
    this.xRange = range;
    this.el.dataset.points = String(pointCount(data));
    if (data[0].length === 0) {
      if (this.plot) {
        this.plot.destroy();
        this.plot = null;
      }
      return;
    }
    if (!this.plot) {
      this.plot = new uPlot(this.options(), data, this.el);
    } else {
      this.plot.setData(data);
    }
  }

  resize() {
    if (this.plot) this.plot.setSize(this.size());
  }
}
