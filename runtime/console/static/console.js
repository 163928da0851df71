// The eventrunner console: a single page over the tenant's HTTP APIs. The
// browser holds a session cookie (HttpOnly) set by POST /console/login; the
// server turns it into the API key on every call, so every view shows what
// the key's own API calls return and nothing else.
import { el, $, clear, kv, pretty, localToRFC3339, short } from './dom.js';

const state = { who: null, tenant: '', tab: '', eventsNext: '', dlqNext: null, live: null, schemas: null };

// api calls an endpoint with the session; the header marks the console's
// own requests (the server refuses changes on a session without it).
async function api(path, opts = {}) {
  const headers = { 'Eventrunner-Console': '1', Accept: 'application/json', ...(opts.headers || {}) };
  if (opts.json !== undefined) headers['Content-Type'] = 'application/json';
  const resp = await fetch(path, {
    method: opts.method || 'GET', headers, credentials: 'same-origin',
    body: opts.json !== undefined ? JSON.stringify(opts.json) : undefined,
  });
  const type = resp.headers.get('Content-Type') || '';
  let body = null;
  if (resp.status !== 204) body = type.includes('json') ? await resp.json().catch(() => null) : await resp.text();
  return { status: resp.status, ok: resp.ok, body };
}

// problemText is what a problem+json body says.
function problemText(r) {
  const b = r.body;
  if (b && typeof b === 'object') return [b.title, b.field && `(${b.field})`, b.detail].filter(Boolean).join(' ');
  return `HTTP ${r.status}`;
}

function status(msg) { $('#status').textContent = msg || ''; }

// scoped adds ?tenant= for the admin, who reads a tenant it picked.
function scoped(path, params = new URLSearchParams()) {
  if (state.who && state.who.kind === 'admin') params.set('tenant', state.tenant);
  const q = params.toString();
  return q ? `${path}?${q}` : path;
}

function isAdmin() { return state.who && state.who.kind === 'admin'; }

// ---- login ----

async function boot() {
  const r = await api('/console/session');
  if (r.ok) enter(r.body); else showLogin();
}

function showLogin(msg) {
  state.who = null;
  stopLive();
  $('#app').hidden = true;
  $('#logout').hidden = true;
  $('#who').textContent = '';
  $('#login').hidden = false;
  $('#login-error').textContent = msg || '';
  $('#login-key').focus();
}

async function login(ev) {
  ev.preventDefault();
  const key = $('#login-key').value.trim();
  const r = await api('/console/login', { method: 'POST', json: { key } });
  $('#login-key').value = '';
  if (!r.ok) { $('#login-error').textContent = problemText(r); return; }
  enter(r.body);
}

function enter(who) {
  state.who = who;
  state.tenant = who.kind === 'tenant' ? who.tenant : '';
  $('#login').hidden = true;
  $('#app').hidden = false;
  $('#logout').hidden = false;
  $('#who').textContent = who.kind === 'admin' ? 'admin' : `tenant ${who.tenant}`;
  for (const b of document.querySelectorAll('[data-admin]')) b.hidden = !isAdmin();
  for (const b of document.querySelectorAll('[data-tenant-only]')) b.hidden = isAdmin();
  adminTenantLabel();
  loadSchemas().then(fillTypeSelects);
  show(isAdmin() ? 'tenants' : 'events');
}

async function logout() {
  await api('/console/logout', { method: 'POST' });
  showLogin();
}

// ---- tabs ----

const loaders = {
  tenants: loadTenants, events: () => loadEvents(false), live: () => {}, dlq: () => loadDLQ(false),
  kbs: loadKBs, schemas: renderSchemas, nats: loadNATS,
};
const needsTenant = new Set(['live', 'dlq', 'kbs', 'nats']);

function show(tab) {
  state.tab = tab;
  status('');
  hideDetail();
  for (const b of document.querySelectorAll('#tabs button')) b.setAttribute('aria-selected', String(b.dataset.tab === tab));
  for (const v of document.querySelectorAll('.view')) v.hidden = v.dataset.view !== tab;
  if (tab !== 'live') stopLive();
  if (needsTenant.has(tab) && !state.tenant) { status('Pick a tenant under Tenants first.'); return; }
  loaders[tab]();
}

function adminTenantLabel() {
  $('#admin-tenant').textContent = isAdmin() ? (state.tenant ? `viewing tenant ${state.tenant}` : 'no tenant picked') : '';
}

// ---- tenants (admin) ----

async function loadTenants() {
  const r = await api('/admin/v1/tenants');
  const tb = clear($('#tenants-table tbody'));
  if (!r.ok) { status(problemText(r)); return; }
  for (const t of r.body.tenants || []) {
    tb.append(el('tr', { 'data-tenant': t.id },
      el('td', { class: 'mono' }, t.id), el('td', {}, t.rate_per_sec || 'unlimited'), el('td', {}, t.burst || ''),
      el('td', {}, t.retention || '7 days'), el('td', {}, t.max_bytes || ''), el('td', {}, (t.signing_keys || []).length),
      el('td', {}, el('button', { type: 'button', onclick: () => pickTenant(t.id) }, 'View'))));
  }
}

function pickTenant(id) {
  state.tenant = id;
  adminTenantLabel();
  show('dlq');
}

// ---- schemas ----

async function loadSchemas() {
  const r = await api('/v1/schemas');
  state.schemas = r.ok ? r.body : { bundle: '', types: [] };
  return state.schemas;
}

function fillTypeSelects() {
  for (const sel of [$('#events-type'), $('#live-type')]) {
    clear(sel).append(el('option', { value: '' }, 'any'));
    for (const t of state.schemas.types || []) sel.append(el('option', { value: t.type }, t.type));
  }
}

async function renderSchemas() {
  const cat = state.schemas || await loadSchemas();
  $('#schemas-bundle').textContent = `bundle ${cat.bundle}`;
  $('#schema-doc').hidden = true;
  const tb = clear($('#schemas-table tbody'));
  for (const t of cat.types || []) {
    const versions = el('td', {});
    for (const v of t.versions) {
      versions.append(el('button', { type: 'button', title: v.hash, onclick: () => showSchema(t.type, v.version) }, `v${v.version}`), ' ');
    }
    const desc = t.versions.length ? t.versions[t.versions.length - 1].description : '';
    tb.append(el('tr', {}, el('td', { class: 'mono' }, t.type), versions, el('td', {}, desc || '')));
  }
}

async function showSchema(type, version) {
  const r = await api(`/v1/schemas/${encodeURIComponent(type)}/v${version}`, { headers: { Accept: 'application/schema+json' } });
  const pre = $('#schema-doc');
  pre.hidden = false;
  pre.textContent = r.ok ? pretty(r.body) : problemText(r);
}

// ---- events ----

async function loadEvents(more) {
  const id = $('#events-id').value.trim();
  const tb = $('#events-table tbody');
  if (!more) { clear(tb); state.eventsNext = ''; }
  $('#events-more').hidden = true;
  if (id && !more) { return findEvent(id); }
  const p = new URLSearchParams({ limit: '50' });
  if ($('#events-type').value) p.set('type', $('#events-type').value);
  if ($('#events-from').value) p.set('from', localToRFC3339($('#events-from').value));
  if ($('#events-to').value) p.set('to', localToRFC3339($('#events-to').value));
  if (more && state.eventsNext) p.set('cursor', state.eventsNext);
  const r = await api(`/v1/events?${p}`);
  if (!r.ok) { status(problemText(r)); return; }
  for (const ev of r.body.events || []) tb.append(eventRow(ev));
  if (!tb.children.length) tb.append(el('tr', {}, el('td', { colspan: 5, class: 'note' }, 'No events.')));
  state.eventsNext = r.body.next || '';
  $('#events-more').hidden = !state.eventsNext;
}

function eventRow(ev, seq) {
  const cells = [el('td', {}, short(ev.time)), el('td', { class: 'mono' }, ev.type), el('td', { class: 'mono' }, ev.id)];
  if (seq === undefined) cells.push(el('td', { class: 'mono' }, ev.source));
  else cells.unshift(el('td', {}, seq));
  cells.push(el('td', { class: 'fired' }, ev.erfired || ''));
  return el('tr', { class: 'clickable', 'data-id': ev.id, onclick: () => showEvent(ev) }, cells);
}

async function findEvent(id, source) {
  const q = source !== undefined ? `?source=${encodeURIComponent(source)}` : '';
  const r = await api(`/v1/events/${encodeURIComponent(id)}${q}`);
  const tb = $('#events-table tbody');
  if (r.status === 300) {
    for (const c of r.body.candidates || []) {
      tb.append(el('tr', { class: 'clickable', 'data-id': id, onclick: () => findEvent(id, c.source) },
        el('td', {}, short(c.time)), el('td', { class: 'mono' }, c.type), el('td', { class: 'mono' }, id), el('td', { class: 'mono' }, c.source),
        el('td', { class: 'note' }, 'several sources sent this id: pick one')));
    }
    return;
  }
  if (!r.ok) { status(problemText(r)); return; }
  clear(tb).append(eventRow(r.body));
  showEvent(r.body);
}

const attrNames = ['id', 'source', 'type', 'subject', 'time', 'specversion', 'datacontenttype', 'dataschema', 'tenantid'];

// showEvent puts a processed event's input (attributes, and its data as it
// arrived, from GET /v1/events/{id}/input), its data after the rules and
// what the rules did side by side.
function showEvent(ev) {
  $('#detail-title').textContent = `Event ${ev.id}`;
  $('#detail-h1').textContent = 'Input (as sent)';
  $('#detail-h2').textContent = 'Processed data (after the rules)';
  $('#detail-h3').textContent = 'Rules';
  $('#detail-note').textContent = '';
  kv($('#detail-attrs'), attrNames.map((k) => [k, ev[k]]));
  $('#detail-input').textContent = '';
  $('#detail-data').textContent = pretty(ev.data !== undefined ? ev.data : ev.data_base64);
  const split = (s) => (s ? String(s).split(',') : []);
  kv($('#detail-rules'), [
    ['knowledge bases', split(ev.erkb)], ['fired', split(ev.erfired).length ? split(ev.erfired) : 'none'],
    ['tags', split(ev.ertags)], ['routes', split(ev.erroute)], ['dropped', ev.erdropped], ['bundle', ev.erbundle],
  ]);
  $('#detail').hidden = false;
  showInput(ev);
}

// showInput fills in the data of ev as it arrived, unless another detail
// was opened meanwhile.
async function showInput(ev) {
  const p = new URLSearchParams({ source: ev.source });
  const r = await api(scoped(`/v1/events/${encodeURIComponent(ev.id)}/input`, p));
  if ($('#detail-title').textContent !== `Event ${ev.id}`) return;
  $('#detail-input').textContent = r.ok ? pretty(r.body) : 'data as sent: not kept for this event (stored before the store kept it)';
}

function hideDetail() { $('#detail').hidden = true; }

// ---- live tail ----

function toggleLive(ev) {
  ev.preventDefault();
  if (state.live) stopLive(); else startLive();
}

function startLive() {
  const p = new URLSearchParams();
  if ($('#live-type').value) p.set('type', $('#live-type').value);
  const es = new EventSource(scoped('/v1/events/stream', p));
  state.live = es;
  $('#live-toggle').textContent = 'Stop';
  liveState('connecting', '');
  es.onopen = () => liveState('live', 'on');
  es.onerror = () => liveState(es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting', 'bad');
  es.onmessage = (m) => {
    let ev;
    try { ev = JSON.parse(m.data); } catch { return; }
    const tb = $('#live-table tbody');
    const row = eventRow(ev, m.lastEventId);
    row.classList.add('fresh');
    tb.prepend(row);
    while (tb.children.length > 200) tb.lastChild.remove();
  };
}

function stopLive() {
  if (state.live) state.live.close();
  state.live = null;
  $('#live-toggle').textContent = 'Start';
  liveState('stopped', '');
}

function liveState(text, cls) {
  const s = $('#live-state');
  s.textContent = text;
  s.className = `pill ${cls}`;
}

// ---- dead letters ----

async function loadDLQ(more) {
  const tb = $('#dlq-table tbody');
  if (!more) { clear(tb); state.dlqNext = null; $('#dlq-result').textContent = ''; }
  $('#dlq-more').hidden = true;
  const p = new URLSearchParams({ limit: '50' });
  for (const k of ['kind', 'type', 'id']) { const v = $(`#dlq-${k}`).value.trim(); if (v) p.set(k, v); }
  for (const k of ['since', 'until']) { const v = $(`#dlq-${k}`).value; if (v) p.set(k, localToRFC3339(v)); }
  if (more && state.dlqNext !== null) p.set('after', state.dlqNext);
  const r = await api(scoped('/v1/dlq', p));
  if (r.status === 404 && r.body && r.body.field === 'path') { status('This server has no dead-letter API (GET /v1/dlq).'); return; }
  if (!r.ok) { status(problemText(r)); return; }
  for (const d of r.body.dead_letters || []) tb.append(dlqRow(d));
  if (!tb.children.length) tb.append(el('tr', {}, el('td', { colspan: 10, class: 'note' }, 'No dead letters.')));
  state.dlqNext = r.body.next ?? null;
  $('#dlq-more').hidden = state.dlqNext === null;
}

function redrivenText(x) {
  if (!x) return '';
  return `${x.outcome}${x.kind ? ' (' + x.kind + ')' : ''} ${short(x.at)}${x.count > 1 ? ' ×' + x.count : ''}`;
}

function dlqRow(d) {
  const e = d.event || {};
  const box = el('input', { type: 'checkbox', 'data-seq': d.seq, 'aria-label': `select ${d.seq}`, onclick: (ev) => ev.stopPropagation() });
  const btn = el('button', { type: 'button', class: 'redrive', onclick: (ev) => { ev.stopPropagation(); redrive([d.seq]); } }, 'Redrive');
  return el('tr', { class: 'clickable', 'data-seq': d.seq, 'data-id': e.id || '', onclick: () => showDeadLetter(d) },
    el('td', {}, box), el('td', {}, d.seq), el('td', {}, short(d.time)), el('td', {}, d.stage), el('td', { class: 'mono' }, d.kind),
    el('td', { class: 'mono' }, d.field), el('td', {}, d.reason), el('td', { class: 'mono' }, [e.type, e.id].filter(Boolean).join(' ')),
    el('td', { class: 'redriven' }, redrivenText(d.redriven), d.redrive_of ? el('span', { class: 'note' }, ` redrive of ${d.redrive_of}`) : null),
    el('td', {}, btn));
}

function showDeadLetter(d) {
  const e = d.event || {};
  $('#detail-title').textContent = `Dead letter ${d.seq}`;
  $('#detail-h1').textContent = 'Event (as received)';
  $('#detail-h2').textContent = 'Data (as received)';
  $('#detail-h3').textContent = 'Why';
  $('#detail-note').textContent = '';
  $('#detail-input').textContent = '';
  kv($('#detail-attrs'), [['id', e.id], ['source', e.source], ['type', e.type], ['subject', e.subject], ['dataschema', e.dataschema], ['content type', d.content_type]]);
  $('#detail-data').textContent = d.data !== undefined ? pretty(d.data) : (d.data_base64 ? `base64: ${d.data_base64}` : '');
  kv($('#detail-rules'), [['seq', d.seq], ['time', d.time], ['stage', d.stage], ['kind', d.kind], ['field', d.field], ['reason', d.reason],
    ['redriven', redrivenText(d.redriven)], ['redrive reason', d.redriven && d.redriven.reason], ['redrive of', d.redrive_of]]);
  $('#detail').hidden = false;
}

async function redrive(seqs) {
  if (!seqs.length) { $('#dlq-result').textContent = 'Select dead letters to redrive.'; return; }
  const r = await api(scoped('/v1/dlq/redrive'), { method: 'POST', json: { seqs } });
  if (!r.ok) { $('#dlq-result').textContent = problemText(r); return; }
  const lines = (r.body.results || []).map((x) => `${x.seq}: ${x.outcome}${x.reason ? ' — ' + x.reason : ''}`);
  $('#dlq-result').textContent = `Redrive: ${r.body.accepted} accepted, ${r.body.rejected} rejected. ${lines.join('; ')}`;
  const keep = $('#dlq-result').textContent;
  await loadDLQ(false);
  $('#dlq-result').textContent = keep;
}

function redriveSelected() {
  const seqs = [...document.querySelectorAll('#dlq-table tbody input[type=checkbox]:checked')].map((b) => Number(b.dataset.seq));
  redrive(seqs);
}

// ---- knowledge bases ----

async function loadKBs() {
  const r = await api(scoped('/v1/kbs'));
  const list = clear($('#kbs-list'));
  if (!r.ok) { status(problemText(r)); return; }
  const rep = r.body;
  $('#kbs-scope').textContent = rep.scope === 'process'
    ? `Rule firings for this tenant counted by this engine process since ${short(rep.since)} (bundle ${rep.bundle}); other engine processes count their own.`
    : 'This process runs no engine: it counts no firings.';
  for (const kb of rep.knowledge_bases || []) {
    const rows = kb.rules.map((ru) => el('tr', { 'data-rule': ru.name }, el('td', { class: 'mono' }, ru.name), el('td', {}, ru.salience),
      el('td', { class: 'fired' }, ru.fired), el('td', {}, ru.description || '')));
    list.append(el('div', { class: 'card', 'data-kb': kb.name },
      el('h3', {}, `${kb.name}@${kb.version}`, el('span', { class: 'pill' }, `${kb.fired} firings`)),
      el('p', { class: 'note' }, `on ${kb.on.join(', ')} — fact schema ${kb.schema}`),
      el('table', {}, el('thead', {}, el('tr', {}, el('th', {}, 'rule'), el('th', {}, 'salience'), el('th', {}, 'fired'), el('th', {}, 'description'))),
        el('tbody', {}, rows))));
  }
}

// ---- NATS and WASM ----

async function loadNATS() {
  const r = await api(scoped('/v1/nats'));
  if (r.ok) {
    const n = r.body;
    kv($('#nats-info'), [['servers', n.urls], ['account', n.account], ['user', n.user], ['password', 'one of your API keys'],
      ['stream', n.stream], ['events', n.subjects.events], ['WASM outputs', n.subjects.outputs], ['dead letters', n.subjects.dead_letters]]);
    $('#nats-examples').textContent = (n.examples || []).join('\n');
  } else {
    kv($('#nats-info'), [['NATS', problemText(r)]]);
    $('#nats-examples').textContent = '';
  }
  const path = isAdmin() ? `/admin/v1/tenants/${encodeURIComponent(state.tenant)}/wasm/consumers` : '/v1/wasm/consumers';
  const w = await api(path);
  const tb = clear($('#wasm-table tbody'));
  if (!w.ok) { tb.append(el('tr', {}, el('td', { colspan: 8, class: 'note' }, w.status === 404 ? 'This process runs no WASM consumers.' : problemText(w)))); return; }
  for (const c of w.body.consumers || []) {
    const s = c.stats || {};
    tb.append(el('tr', { 'data-consumer': c.name }, el('td', { class: 'mono' }, c.name), el('td', {}, short(c.deployed)), el('td', {}, c.deliver),
      el('td', {}, s.handled ?? 0), el('td', {}, s.emitted ?? 0), el('td', {}, s.failed ?? 0), el('td', {}, s.dead_lettered ?? 0),
      el('td', { class: 'error' }, c.error || s.last_error || '')));
  }
  if (!tb.children.length) tb.append(el('tr', {}, el('td', { colspan: 8, class: 'note' }, 'No WASM consumers deployed.')));
}

// ---- wiring ----

document.addEventListener('DOMContentLoaded', () => {
  $('#login-form').addEventListener('submit', login);
  $('#logout').addEventListener('click', logout);
  for (const b of document.querySelectorAll('#tabs button')) b.addEventListener('click', () => show(b.dataset.tab));
  $('#events-form').addEventListener('submit', (ev) => { ev.preventDefault(); hideDetail(); status(''); loadEvents(false); });
  $('#events-more').addEventListener('click', () => loadEvents(true));
  $('#live-form').addEventListener('submit', toggleLive);
  $('#dlq-form').addEventListener('submit', (ev) => { ev.preventDefault(); hideDetail(); status(''); loadDLQ(false); });
  $('#dlq-more').addEventListener('click', () => loadDLQ(true));
  $('#dlq-redrive-selected').addEventListener('click', redriveSelected);
  $('#dlq-all').addEventListener('change', (ev) => {
    for (const b of document.querySelectorAll('#dlq-table tbody input[type=checkbox]')) b.checked = ev.target.checked;
  });
  $('#detail-close').addEventListener('click', hideDetail);
  boot();
});
