// DOM helpers that only ever create text: data from the CRM, speech or notes is never parsed as HTML.

/** h('li', {className: 'x'}, 'text', otherNode) -> <li class="x">text…</li>; strings become text nodes. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'className') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'innerHTML' || key === 'outerHTML') throw new Error('no HTML from data');
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's children (text or nodes). */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);

export function show(el, visible = true) {
  el.hidden = !visible;
}

// ---------------------------------------------------------------- page furniture both pages share

/** A status line: its state (a CSS hook) and its text. */
export function setLine(el, kind, text) {
  el.dataset.state = kind;
  fill(el, text);
}

let flashTimer = null;
/** A passing message in #flash; errors stay longer. */
export function flash(text, kind = 'info') {
  const el = $('#flash');
  el.dataset.kind = kind;
  fill(el, text);
  show(el, true);
  clearTimeout(flashTimer);
  flashTimer = setTimeout(() => show(el, false), kind === 'error' ? 12000 : 6000);
}

/**
 * The session is over (signed out elsewhere, token revoked): say so in #session-ended, disable every
 * button of the page and close its event stream. False when it had ended already.
 */
export function endSession(state, message) {
  if (state.over) return false;
  state.over = true;
  fill($('#session-ended-text'), `Your session has ended (${message}).`);
  show($('#session-ended'), true);
  for (const button of document.querySelectorAll('main button')) button.disabled = true;
  if (state.events) state.events.close();
  return true;
}
