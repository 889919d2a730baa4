// The supervisor board's filters (a queue, a skill) and the agents' skills: each agent's skills are
// shown in their row, and an admin edits them there (PATCH /api/agents/<id> {"skills"}: routing uses
// the new levels at once). Filtering by a queue shows that queue's tile, its waiting callers and the
// agents who hold its skills; by a skill, the agents who hold it.
import { $, fill, flash, h } from './dom.js';

export function skillsText(skills) {
  const entries = Object.entries(skills || {}).sort(([a], [b]) => a.localeCompare(b));
  return entries.map(([name, level]) => `${name} ${level}`).join(', ');
}

/** "billing 5, tech 2" -> {billing: 5, tech: 2}; null when it does not read so. */
export function parseSkills(text) {
  const out = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([A-Za-z0-9_-]{1,64})\s*(?:[ :=]\s*(\d{1,2}))?$/.exec(part);
    if (!m) return null;
    out[m[1]] = m[2] === undefined ? 1 : Number(m[2]);
  }
  return out;
}

export class BoardFilters {
  /** @param deps {api, admin (may edit skills), onChange() when a filter or an agent's skills change} */
  constructor({ api, admin, onChange }) {
    this.api = api;
    this.admin = admin;
    this.onChange = onChange;
    this.queue = '';
    this.skill = '';
    this.queues = {};           // GET /api/queues: each queue's skills
    this.skills = {};           // agent id -> {skill: level}, from GET /api/agents
    $('#filter-queue').addEventListener('change', (e) => { this.queue = e.target.value; this.onChange(); });
    $('#filter-skill').addEventListener('change', (e) => { this.skill = e.target.value; this.onChange(); });
  }

  setQueues(queues) {
    this.queues = queues || {};
    this.choices();
  }

  setAgents(agents) {
    this.skills = Object.fromEntries(agents.map((a) => [a.id, a.skills || {}]));
    this.choices();
  }

  choices() {
    const keep = (select, value, options, all) => {
      fill(select, h('option', { value: '' }, all), options.map((o) => h('option', { value: o }, o)));
      select.value = options.includes(value) ? value : '';
    };
    keep($('#filter-queue'), this.queue, Object.keys(this.queues).sort(), 'All queues');
    const skills = new Set(Object.values(this.skills).flatMap((s) => Object.keys(s)));
    for (const q of Object.values(this.queues)) Object.keys(q.skills || {}).forEach((s) => skills.add(s));
    keep($('#filter-skill'), this.skill, [...skills].sort(), 'All skills');
    this.queue = $('#filter-queue').value;
    this.skill = $('#filter-skill').value;
  }

  queueShown(name) {
    return !this.queue || name === this.queue;
  }

  agentShown(id) {
    const held = this.skills[id] || {};
    if (this.skill && !(Number(held[this.skill]) > 0)) return false;
    if (this.queue) {
      const needs = (this.queues[this.queue] || {}).skills || {};
      return Object.entries(needs).every(([name, level]) => Number(held[name] || 0) >= Number(level));
    }
    return true;
  }

  /** The skills cell of an agent's row: the skills, and Edit for an admin. */
  skillsCell(id) {
    const text = h('span', { className: 'skills-text' });
    const cell = h('td', { className: 'skills-cell' }, text);
    if (this.admin) {
      const edit = h('button', { type: 'button', className: 'small skills-edit' }, 'Edit');
      edit.addEventListener('click', () => this.edit(id, cell));
      cell.append(' ', edit);
    }
    return { cell, text };
  }

  renderSkills(id, cellParts) {
    if (cellParts.cell.dataset.editing === 'true') return;
    fill(cellParts.text, skillsText(this.skills[id]) || '–');
  }

  edit(id, cell) {
    cell.dataset.editing = 'true';
    const input = h('input', { type: 'text', className: 'skills-input', value: skillsText(this.skills[id]),
      'aria-label': `Skills of ${id}`, placeholder: 'billing 5, tech 2' });
    const save = h('button', { type: 'button', className: 'small skills-save' }, 'Save');
    const cancel = h('button', { type: 'button', className: 'small' }, 'Cancel');
    const text = cell.querySelector('.skills-text');
    const editButton = cell.querySelector('.skills-edit');
    const done = () => {
      delete cell.dataset.editing;
      fill(cell, text, ' ', editButton);
      fill(text, skillsText(this.skills[id]) || '–');
    };
    cancel.addEventListener('click', done);
    save.addEventListener('click', async () => {
      const skills = parseSkills(input.value);
      if (!skills) {
        flash('Skills read like "billing 5, tech 2" (a name and a level from 1 to 10).', 'warn');
        return;
      }
      save.disabled = true;
      try {
        const data = await this.api.request('PATCH', `/api/agents/${encodeURIComponent(id)}`, { skills });
        this.skills[id] = (data.agent && data.agent.skills) || skills;
        flash(`Skills of ${id} saved: ${skillsText(this.skills[id]) || 'none'}.`);
        done();
        this.onChange();
      } catch (err) {
        save.disabled = false;
        if (err.status !== 401) flash(`Could not save the skills: ${err.message}`, 'error');
      }
    });
    fill(cell, input, ' ', save, ' ', cancel);
    input.focus();
  }
}
