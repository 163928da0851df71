// DOM helpers. Every piece of data reaches the page as text (textContent,
// attribute values), never as HTML.

// el builds an element: el('td', {class: 'mono'}, 'text', otherNode).
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

export const $ = (sel) => document.querySelector(sel);

// clear empties a node.
export function clear(node) { node.replaceChildren(); return node; }

// kv fills a <dl> with [label, value] pairs (values as text).
export function kv(dl, pairs) {
  clear(dl);
  for (const [k, v] of pairs) {
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && !v.length)) continue;
    dl.append(el('dt', {}, k), el('dd', {}, Array.isArray(v) ? v.join(', ') : String(v)));
  }
}

// pretty is JSON text indented.
export function pretty(v) { return JSON.stringify(v, null, 2); }

// localToRFC3339 turns a datetime-local value into an RFC 3339 UTC time.
export function localToRFC3339(v) { return v ? new Date(v).toISOString() : ''; }

// short shows a time compactly.
export function short(t) {
  if (!t) return '';
  const d = new Date(t);
  return isNaN(d) ? String(t) : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
}
