// The Portcullis live console: plain JavaScript, no framework, no build step. Everything shown
// is set with textContent or SVG attributes (never innerHTML); the page talks only to the admin
// listener it came from (the Content-Security-Policy allows nothing else). Loaded as a module (strict).

const TOKEN_KEY = 'portcullis.adminToken';
const SVG = 'http://www.w3.org/2000/svg';
const W = 600;
const H = 150;

const $ = (id) => document.getElementById(id);
let streamAbort = null;
let reconnectTimer = null;
let bansTimer = null;

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

function headers(extra) {
  const h = Object.assign({}, extra || {});
  const t = token();
  if (t !== '') h.authorization = `Bearer ${t}`;
  return h;
}

/** An element with a class and text (text through textContent: data never becomes markup). */
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}

function svgEl(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const k of Object.keys(attrs)) e.setAttribute(k, String(attrs[k]));
  return e;
}

function fmt(n) {
  if (n === null || n === undefined) return '–';
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n * 100) / 100);
}

function ms(n) {
  return n === null || n === undefined ? '–' : n < 10 ? n.toFixed(2) : n.toFixed(0);
}

function time(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleTimeString();
}

/** fetch on the admin API with the token; a 401 brings the token form back. */
async function api(path, opts) {
  const o = opts || {};
  const res = await fetch(path, {
    method: o.method || 'GET',
    headers: headers(o.body ? { 'content-type': 'application/json' } : {}),
    body: o.body,
    cache: 'no-store',
  });
  if (res.status === 401) {
    showLogin('The token was not accepted.');
    throw new Error('unauthorized');
  }
  return res;
}

// ---- token -----------------------------------------------------------------------------------

function showLogin(message) {
  stopStream();
  $('main').hidden = true;
  $('signout').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  $('token').focus();
}

async function start() {
  // nothing asked before the user gave a token (or chose none): no 401 on the first load
  if (sessionStorage.getItem(TOKEN_KEY) === null) return showLogin('');
  const res = await fetch('/admin/live?seconds=10', { headers: headers(), cache: 'no-store' }).catch(() => null);
  if (res === null) return showLogin('The admin listener did not answer.');
  if (res.status === 401) return showLogin(token() === '' ? '' : 'The token was not accepted.');
  if (!res.ok) return showLogin(`The admin listener answered ${res.status}.`);
  const snap = await res.json();
  $('login').hidden = true;
  $('main').hidden = false;
  $('signout').hidden = token() === '';
  $('scope').textContent = snap.tenant === null ? 'all tenants' : `tenant: ${snap.tenant}`;
  openStream();
  loadBans();
  clearInterval(bansTimer);
  bansTimer = setInterval(loadBans, 5000);
}

$('login-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
  $('token').value = '';
  start();
});

$('signout').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY);
  clearInterval(bansTimer);
  showLogin('');
});

// ---- the live stream (Server-Sent Events read with fetch, so that the token goes in a header) ----

function setConn(on, text) {
  const c = $('conn');
  c.className = `conn ${on ? 'on' : 'off'}`;
  c.textContent = text;
}

function stopStream() {
  if (streamAbort) streamAbort.abort();
  streamAbort = null;
  clearTimeout(reconnectTimer);
}

function reconnect(delay) {
  clearTimeout(reconnectTimer);
  reconnectTimer = setTimeout(openStream, delay);
}

async function openStream() {
  stopStream();
  const abort = new AbortController();
  streamAbort = abort;
  let res;
  try {
    res = await fetch('/admin/live/stream', { headers: headers({ accept: 'text/event-stream' }), signal: abort.signal, cache: 'no-store' });
  } catch {
    if (!abort.signal.aborted) {
      setConn(false, 'reconnecting');
      reconnect(2000);
    }
    return;
  }
  if (res.status === 401) return showLogin('The token was not accepted.');
  if (!res.ok || !res.body) {
    setConn(false, `stream refused (${res.status})`);
    return reconnect(5000);
  }
  setConn(true, 'live');
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let cut = buf.indexOf('\n\n');
      while (cut >= 0) {
        onEvent(buf.slice(0, cut));
        buf = buf.slice(cut + 2);
        cut = buf.indexOf('\n\n');
      }
      if (buf.length > 4 * 1024 * 1024) break;
    }
  } catch {
    // aborted or the connection dropped
  }
  if (abort.signal.aborted) return;
  setConn(false, 'reconnecting');
  reconnect(1000);
}

function onEvent(block) {
  let event = 'message';
  const data = [];
  for (const line of block.split('\n')) {
    if (line.startsWith('event:')) event = line.slice(6).trim();
    else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
  }
  if (event === 'snapshot' && data.length > 0) render(JSON.parse(data.join('\n')));
}

// ---- rendering -----------------------------------------------------------------------------

function render(s) {
  const t = s.totals;
  $('clock').textContent = time(s.time);
  $('kpi-rps').textContent = fmt(t.rps);
  $('kpi-total').textContent = String(t.requests);
  $('kpi-minute').textContent = fmt(t.last_minute.requests);
  $('kpi-refused').textContent = fmt(t.last_minute.refused);
  $('kpi-errors').textContent = `${fmt(t.last_minute.s4xx)} / ${fmt(t.last_minute.s5xx)}`;
  $('kpi-latency').textContent = `${ms(t.latency_ms.p50)} / ${ms(t.latency_ms.p95)} / ${ms(t.latency_ms.p99)} ms`;
  const series = recentPart(s.series);
  drawStatus(series);
  drawLatency(series);
  fillTable(
    't-refusals',
    s.refusals_by.map((r) => [r.stage, r.code, { n: r.count }]),
    'no refusals',
  );
  fillTable(
    't-waf',
    s.waf_blocks.map((r) => [r.category, { n: r.count }]),
    'no WAF blocks',
  );
  fillTable(
    't-clients',
    s.top_clients.map((r) => [
      { mono: r.client },
      { n: r.refusals },
      { button: 'Ban 10 min', cls: 'danger', on: () => placeBan(r.client, 600000, 'from the console: top offender') },
    ]),
    'no offending clients',
  );
  fillTable(
    't-alerts',
    s.alerts.map((a) => [a.name, { badge: a.status }, `${a.scope.by}${a.scope.key ? `: ${a.scope.key}` : ''}`, { n: a.value }]),
    'no alerts pending or firing',
  );
  if ($('search').value.trim() === '') fillRecent(s.recent_refusals);
}

/** Rows of cells: a string, or {n} (a number), {mono}, {badge}, {button, on}, {link, on}. */
function fillTable(id, rows, emptyText) {
  const body = $(id).tBodies[0];
  const out = [];
  for (const row of rows) {
    const tr = el('tr');
    for (const c of row) {
      let td;
      if (c !== null && typeof c === 'object') {
        if ('n' in c) td = el('td', 'n', fmt(c.n));
        else if ('mono' in c) td = el('td', 'mono', c.mono);
        else if ('badge' in c) {
          td = el('td');
          td.append(el('span', `badge ${c.badge}`, c.badge));
        } else if ('button' in c || 'link' in c) {
          td = el('td');
          const b = el('button', c.link !== undefined ? 'link' : c.cls || '', c.link !== undefined ? c.link : c.button);
          b.type = 'button';
          b.addEventListener('click', c.on);
          td.append(b);
        } else td = el('td', '', JSON.stringify(c));
      } else td = el('td', '', c === null || c === undefined ? '–' : c);
      if (c && c.title) td.title = c.title;
      tr.append(td);
    }
    out.push(tr);
  }
  if (out.length === 0) {
    const tr = el('tr');
    const td = el('td', 'empty', emptyText);
    td.colSpan = $(id).tHead.rows[0].cells.length;
    tr.append(td);
    out.push(tr);
  }
  body.replaceChildren(...out);
}

function fillRecent(list) {
  fillTable(
    't-recent',
    list.map((r) => [
      time(r.time),
      { link: r.id, on: () => openDecision(r.id) },
      `${r.method || ''} ${r.path || ''}`,
      { mono: r.client },
      r.stage,
      r.code,
      r.rules.join(', '),
    ]),
    'no refusals',
  );
}

/** The series from its first second with traffic (at least the last minute): a gateway started a minute ago is not drawn as 4 empty minutes. */
function recentPart(series) {
  const n = series.requests.length;
  let from = series.requests.findIndex((v) => v > 0);
  if (from < 0 || from > n - 60) from = Math.max(0, n - 60);
  const out = {};
  for (const k of Object.keys(series)) out[k] = Array.isArray(series[k]) ? series[k].slice(from) : series[k];
  return out;
}

function scaleMax(values) {
  let m = 0;
  for (const v of values) if (v !== null && v > m) m = v;
  if (m <= 0) return 1;
  const p = 10 ** Math.floor(Math.log10(m));
  for (const k of [1, 2, 2.5, 5, 10]) if (m <= k * p) return k * p;
  return m;
}

function gridLines(svg) {
  for (const f of [0.25, 0.5, 0.75]) svg.append(svgEl('line', { class: 'gridline', x1: 0, x2: W, y1: H * f, y2: H * f }));
}

function drawStatus(s) {
  const svg = $('chart-status');
  const n = s.requests.length;
  const max = scaleMax(s.requests);
  const dx = W / Math.max(1, n - 1);
  const layers = [s.s2xx, s.s3xx, s.s4xx, s.s5xx];
  const names = ['s2xx', 's3xx', 's4xx', 's5xx'];
  const base = new Array(n).fill(0);
  svg.replaceChildren();
  gridLines(svg);
  layers.forEach((layer, li) => {
    const top = base.map((b, i) => b + layer[i]);
    let d = '';
    for (let i = 0; i < n; i++) d += `${i === 0 ? 'M' : 'L'}${(i * dx).toFixed(1)},${(H - (top[i] / max) * H).toFixed(1)}`;
    for (let i = n - 1; i >= 0; i--) d += `L${(i * dx).toFixed(1)},${(H - (base[i] / max) * H).toFixed(1)}`;
    svg.append(svgEl('path', { class: `area ${names[li]}`, d: `${d}Z` }));
    for (let i = 0; i < n; i++) base[i] = top[i];
  });
  $('status-max').textContent = `scale: ${fmt(max)} req/s`;
}

function drawLatency(s) {
  const svg = $('chart-latency');
  const n = s.p99.length;
  const max = scaleMax(s.p99);
  const dx = W / Math.max(1, n - 1);
  svg.replaceChildren();
  gridLines(svg);
  for (const q of ['p50', 'p95', 'p99']) {
    let d = '';
    let pen = false;
    s[q].forEach((v, i) => {
      if (v === null) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${(i * dx).toFixed(1)},${(H - (Math.min(v, max) / max) * H).toFixed(1)}`;
      pen = true;
    });
    if (d !== '') svg.append(svgEl('path', { class: `line ${q}`, d }));
  }
  $('latency-max').textContent = `scale: ${ms(max)} ms`;
}

// ---- bans ----------------------------------------------------------------------------------

async function loadBans() {
  let list;
  try {
    const res = await api('/admin/bans');
    if (!res.ok) return;
    list = (await res.json()).bans;
  } catch {
    return;
  }
  fillTable(
    't-bans',
    list.map((b) => [{ mono: b.client }, b.kind, b.source, b.reason, time(b.until), { button: 'Lift', on: () => liftBan(b.client) }]),
    'no active bans',
  );
}

async function placeBan(client, durationMs, reason) {
  const status = $('ban-status');
  try {
    const res = await api('/admin/bans', { method: 'POST', body: JSON.stringify({ client, duration_ms: durationMs, reason: reason || 'from the console' }) });
    const body = await res.json().catch(() => ({}));
    status.textContent = res.ok ? `banned ${body.client}` : `refused: ${body.detail || res.status}`;
  } catch {
    status.textContent = 'the ban could not be placed';
  }
  loadBans();
}

async function liftBan(client) {
  const status = $('ban-status');
  try {
    const res = await api(`/admin/bans/${encodeURIComponent(client)}`, { method: 'DELETE' });
    status.textContent = res.ok ? `lifted ${client}` : `not lifted (${res.status})`;
  } catch {
    status.textContent = 'the ban could not be lifted';
  }
  loadBans();
}

$('ban-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  placeBan($('ban-client').value.trim(), Number($('ban-duration').value), $('ban-reason').value.trim());
});

// ---- refusals: search and the decision -------------------------------------------------------

async function search() {
  const q = $('search').value.trim();
  let list;
  try {
    const res = await api(`/admin/refusals?limit=100&q=${encodeURIComponent(q)}`);
    if (!res.ok) return;
    list = (await res.json()).refusals;
  } catch {
    return;
  }
  $('search-status').textContent = q === '' ? '' : `${list.length} found`;
  fillRecent(list);
  // a request id entered as such opens its decision
  const exact = list.find((r) => r.id === q);
  if (exact) openDecision(exact.id);
}

$('search-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  search();
});

$('d-close').addEventListener('click', () => {
  $('decision').hidden = true;
});

function field(dl, name, value, id) {
  if (value === null || value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) return;
  dl.append(el('dt', '', name));
  const dd = el('dd', '', typeof value === 'string' ? value : Array.isArray(value) ? value.join(', ') : JSON.stringify(value));
  if (id) dd.id = id;
  dl.append(dd);
}

async function openDecision(id) {
  let r;
  try {
    const res = await api(`/admin/refusals/${encodeURIComponent(id)}`);
    if (!res.ok) {
      $('search-status').textContent = 'no recent refusal has this request id';
      return;
    }
    r = await res.json();
  } catch {
    return;
  }
  const dl = $('d-fields');
  dl.replaceChildren();
  $('d-id').textContent = r.id;
  field(dl, 'time', r.time);
  field(dl, 'request', `${r.method || ''} ${r.host || ''}${r.path || ''}${r.query ? `?${r.query}` : ''}`);
  field(dl, 'client', r.client);
  field(dl, 'tenant', r.tenant);
  field(dl, 'consumer', r.consumer);
  field(dl, 'route', r.route);
  field(dl, 'status', String(r.status));
  field(dl, 'stage', r.stage, 'd-stage');
  field(dl, 'code', r.code, 'd-code');
  field(dl, 'reason', r.reason);
  if (r.waf) {
    field(dl, 'WAF rules', r.waf.rules, 'd-rules');
    field(dl, 'WAF score', r.waf.score === undefined ? null : String(r.waf.score));
    field(dl, 'WAF tags', r.waf.tags);
    field(
      dl,
      'fields matched',
      (r.waf.matches || []).map((m) => `${m.rule} on ${m.target}: ${m.matched}`),
      'd-fields-matched',
    );
  }
  field(
    dl,
    'violations',
    r.errors.map((e) => `${e.pointer}: ${e.reason}`),
    'd-violations',
  );
  for (const k of Object.keys(r.annotations)) field(dl, k, r.annotations[k]);
  field(
    dl,
    'monitor mode',
    r.monitored.map((m) => `${m.stage} would refuse with ${m.code}`),
  );
  $('d-json').textContent = JSON.stringify(r, null, 2);
  $('decision').hidden = false;
}

start();
