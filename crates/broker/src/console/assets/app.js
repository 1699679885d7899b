// The Cairn console: one page, no libraries, no build step. It reads the
// admin API of the broker that served it every REFRESH_MS and redraws the
// current view (the part of the URL after '#'). Actions call the same API
// behind a confirmation dialog. See README.md, "Web console".
'use strict';

const REFRESH_MS = 2000;
/// Seconds of topic high watermarks kept to compute messages per second.
const RATE_WINDOW_S = 10;

const state = {
  cluster: null,   // GET /v1/cluster
  topics: [],      // GET /v1/topics
  stats: null,     // GET /v1/stats
  groups: null,    // GET /v1/groups
  groupDetails: {},// GET /v1/groups/{id}, by id
  hwHistory: {},   // topic -> [[seconds, sum of high watermarks]]
  error: null,
};

// ---------------------------------------------------------------- helpers

/// Builds an element: h('td', {class: 'x'}, 'text', child, ...). Text is
/// always set as text, never parsed as HTML.
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/// Calls the admin API; an error answer becomes an Error with its code and message.
async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (_) { json = null; }
  if (!res.ok) {
    const e = json && json.error;
    throw new Error(e ? `${e.code}: ${e.message}` : `${method} ${path}: ${res.status} ${text}`);
  }
  return json;
}

function bytes(n) {
  if (n === undefined || n === null) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return `${n >= 100 || i === 0 ? n.toFixed(0) : n.toFixed(1)} ${units[i]}`;
}
const perSec = (n) => (n === undefined || n === null ? '–' : `${bytes(n)}/s`);
const count = (n) => (n === undefined || n === null ? '–' : Number(n).toLocaleString('en-US'));
const ms = (n) => (n === undefined || n === null ? '–' : `${n < 10 ? n.toFixed(1) : n.toFixed(0)} ms`);
const encode = encodeURIComponent;

/// The partitions' leader-side numbers, by Raft group, from /v1/stats.
function ledByGroup() {
  const led = {};
  for (const b of (state.stats && state.stats.brokers) || []) {
    for (const p of b.led) {
      const seen = led[p.group];
      if (!seen || p.high_watermark > seen.high_watermark) led[p.group] = { ...p, broker: b.broker };
    }
  }
  return led;
}

function liveBrokers() {
  return ((state.cluster && state.cluster.brokers) || []).filter((b) => b.live);
}

/// A partition is offline without a leader, under-replicated when its ISR
/// is smaller than its replica set.
function partitionHealth(p) {
  if (p.leader === null || p.leader === undefined) return 'offline';
  if (p.isr.length < p.replicas.length) return 'under-replicated';
  return 'ok';
}

/// The latest sample of a broker's history.
function latest(brokerId) {
  const b = ((state.stats && state.stats.brokers) || []).find((s) => s.broker === brokerId);
  return b && b.history.length ? b.history[b.history.length - 1] : null;
}

/// The cluster's series for a chart: per second, the sum (or max) of the
/// brokers' samples of `field`.
function clusterSeries(field, combine) {
  const bySecond = new Map();
  for (const b of (state.stats && state.stats.brokers) || []) {
    for (const s of b.history) {
      const v = s[field];
      if (v === null || v === undefined) continue;
      const t = Math.round(s.at_ms / 1000);
      bySecond.set(t, bySecond.has(t) ? combine(bySecond.get(t), v) : v);
    }
  }
  return [...bySecond.entries()].sort((a, b) => a[0] - b[0]);
}
const sum = (a, b) => a + b;

/// Messages per second of a topic over the last RATE_WINDOW_S seconds.
function topicRate(name) {
  const h = state.hwHistory[name];
  if (!h || h.length < 2) return null;
  const [t0, v0] = h[0];
  const [t1, v1] = h[h.length - 1];
  return t1 > t0 ? Math.max(0, (v1 - v0) / (t1 - t0)) : null;
}

function recordTopicOffsets() {
  const led = ledByGroup();
  const now = Date.now() / 1000;
  for (const t of state.topics) {
    let total = 0;
    for (const p of t.partitions) total += led[p.group] ? led[p.group].high_watermark : 0;
    const h = (state.hwHistory[t.name] = state.hwHistory[t.name] || []);
    h.push([now, total]);
    while (h.length > 2 && now - h[0][0] > RATE_WINDOW_S) h.shift();
  }
}

// ---------------------------------------------------------------- charts

/// A line chart of `series` ([{name, points: [[seconds, value]], cls}])
/// over the history there is (at most five minutes, at least one), values
/// printed with `fmt`.
function chart(title, series, fmt) {
  const W = 600, H = 150, PAD = 4;
  const now = Date.now() / 1000;
  const first = Math.min(now, ...series.flatMap((s) => s.points.map(([t]) => t)));
  const span = Math.min(300, Math.max(60, now - first));
  const from = now - span;
  let max = 0;
  for (const s of series) for (const [, v] of s.points) max = Math.max(max, v);
  const top = max > 0 ? max * 1.15 : 1;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
  svg.setAttribute('preserveAspectRatio', 'none');
  for (const frac of [0.25, 0.5, 0.75]) {
    const line = document.createElementNS(svg.namespaceURI, 'line');
    line.setAttribute('x1', 0); line.setAttribute('x2', W);
    line.setAttribute('y1', H * frac); line.setAttribute('y2', H * frac);
    line.setAttribute('class', 'grid');
    svg.append(line);
  }
  for (const s of series) {
    const pts = s.points
      .filter(([t]) => t >= from)
      .map(([t, v]) => `${(((t - from) / span) * W).toFixed(1)},${(H - PAD - (v / top) * (H - 2 * PAD)).toFixed(1)}`);
    const poly = document.createElementNS(svg.namespaceURI, 'polyline');
    poly.setAttribute('points', pts.join(' '));
    poly.setAttribute('class', `series ${s.cls}`);
    svg.append(poly);
  }
  const legend = series.map((s) => {
    const last = s.points.length ? s.points[s.points.length - 1][1] : null;
    return h('span', { class: `legend ${s.cls}` }, `${s.name}: ${last === null ? '–' : fmt(last)}`);
  });
  return h('figure', { class: 'chart', 'data-chart': title },
    h('figcaption', {}, h('strong', {}, title), ' ', legend, h('span', { class: 'max' }, `max ${fmt(max)} · last ${span < 120 ? `${Math.round(span)} s` : `${Math.round(span / 60)} min`}`)),
    svg);
}

// ---------------------------------------------------------------- dialogs

/// Asks for confirmation. `fields`: [{name, label, value, type}] shown as
/// inputs; `mustType`: text the user has to type before confirming.
/// Resolves with the fields' values, or null when cancelled.
function confirmAction({ title, text, fields = [], mustType = null, danger = false }) {
  const dialog = document.getElementById('confirm');
  document.getElementById('confirm-title').textContent = title;
  document.getElementById('confirm-text').textContent = text;
  const box = document.getElementById('confirm-fields');
  box.replaceChildren();
  const ok = document.getElementById('confirm-ok');
  ok.className = danger ? 'danger' : 'primary';
  const inputs = fields.map((f) => {
    const input = h('input', { name: f.name, id: `confirm-field-${f.name}`, type: f.type || 'text', value: f.value ?? '', required: true });
    box.append(h('label', {}, f.label, input));
    return input;
  });
  let typed = null;
  if (mustType !== null) {
    typed = h('input', { id: 'confirm-input', autocomplete: 'off', placeholder: mustType });
    box.append(h('label', {}, `Type "${mustType}" to confirm`, typed));
    const check = () => { ok.disabled = typed.value !== mustType; };
    typed.addEventListener('input', check);
    check();
  } else {
    ok.disabled = false;
  }
  dialog.returnValue = '';
  dialog.showModal();
  (inputs[0] || typed || ok).focus();
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      if (dialog.returnValue !== 'ok') return resolve(null);
      const values = {};
      for (const i of inputs) values[i.name] = i.value;
      resolve(values);
    }, { once: true });
  });
}

/// Shows the outcome of an action until the next one (or a click).
function toast(message, ok) {
  const el = document.getElementById('toast');
  el.textContent = message;
  el.className = ok ? 'ok' : 'error';
  el.hidden = false;
}

async function act(description, call, then) {
  try {
    await call();
    toast(`${description}: done`, true);
    if (then) then();
    await refresh();
  } catch (e) {
    toast(`${description} failed: ${e.message}`, false);
  }
}

// ---------------------------------------------------------------- actions

async function createTopic(form) {
  const name = form.elements.name.value.trim();
  const partitions = Number(form.elements.partitions.value);
  const rf = Number(form.elements.replication_factor.value);
  const configs = {};
  for (const pair of form.elements.configs.value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const at = pair.indexOf('=');
    if (at <= 0) return toast(`config "${pair}" is not key=value`, false);
    configs[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  const yes = await confirmAction({
    title: 'Create topic',
    text: `Create topic "${name}" with ${partitions} partitions and replication factor ${rf}${Object.keys(configs).length ? `, configs ${JSON.stringify(configs)}` : ''}?`,
  });
  if (!yes) return;
  await act(`Create topic ${name}`, () => api('POST', '/v1/topics', { name, partitions, replication_factor: rf, configs }),
    () => form.reset());
}

async function deleteTopic(name) {
  const yes = await confirmAction({
    title: 'Delete topic',
    text: `Delete topic "${name}" and every record in it, on every broker. This cannot be undone.`,
    mustType: name,
    danger: true,
  });
  if (!yes) return;
  await act(`Delete topic ${name}`, () => api('DELETE', `/v1/topics/${encode(name)}`),
    () => { if (location.hash.startsWith('#/topics/')) location.hash = '#/topics'; });
}

async function editConfig(topic, key, value) {
  const values = await confirmAction({
    title: `Alter ${key}`,
    text: `Set ${key} of topic "${topic}". Brokers apply it at once.`,
    fields: [{ name: 'value', label: key, value }],
  });
  if (!values) return;
  await act(`Set ${key}=${values.value} on ${topic}`,
    () => api('POST', `/v1/topics/${encode(topic)}/configs`, { set: { [key]: values.value } }));
}

async function resetConfig(topic, key) {
  const yes = await confirmAction({
    title: `Reset ${key}`,
    text: `Remove the override of ${key} on topic "${topic}": it goes back to the broker default.`,
  });
  if (!yes) return;
  await act(`Reset ${key} on ${topic}`,
    () => api('POST', `/v1/topics/${encode(topic)}/configs`, { delete: [key] }));
}

async function trimPartition(topic, partition, highWatermark) {
  const values = await confirmAction({
    title: `Trim ${topic}-${partition}`,
    text: `Delete the records of ${topic}-${partition} below this offset, on every replica (the high watermark, ${count(highWatermark)}, deletes them all). This cannot be undone.`,
    fields: [{ name: 'offset', label: 'New log start offset', value: highWatermark ?? -1, type: 'number' }],
    danger: true,
  });
  if (!values) return;
  await act(`Trim ${topic}-${partition} to ${values.offset}`,
    () => api('POST', `/v1/topics/${encode(topic)}/trim`, { partition, offset: Number(values.offset) }));
}

// ---------------------------------------------------------------- views

function table(head, rows, attrs = {}) {
  return h('table', attrs,
    h('thead', {}, h('tr', {}, head.map((c) => h('th', {}, c)))),
    h('tbody', {}, rows));
}

function card(label, value, cls = '') {
  return h('div', { class: `card ${cls}`, 'data-card': label }, h('div', { class: 'value' }, value), h('div', { class: 'label' }, label));
}

function allPartitions() {
  return state.topics.flatMap((t) => t.partitions);
}

function overview() {
  const c = state.cluster;
  if (!c) return [h('p', {}, 'loading…')];
  const parts = allPartitions();
  const led = ledByGroup();
  const under = parts.filter((p) => partitionHealth(p) === 'under-replicated').length;
  const offline = parts.filter((p) => partitionHealth(p) === 'offline').length;
  const produce = clusterSeries('produced_bytes_per_sec', sum);
  const fetched = clusterSeries('fetched_bytes_per_sec', sum);
  const last = (s) => (s.length ? s[s.length - 1][1] : null);
  const unreachable = new Set((state.stats && state.stats.unreachable) || []);
  const brokerRows = c.brokers.map((b) => {
    const sample = latest(b.id);
    const status = b.live && !unreachable.has(b.id) ? 'live' : b.live ? 'unreachable' : 'offline';
    return h('tr', { 'data-broker': b.id, class: status === 'live' ? '' : 'bad' },
      h('td', {}, b.id),
      h('td', { class: `status ${status}` }, status),
      h('td', {}, c.controller === b.id ? 'controller' : b.controller_voter ? 'voter' : ''),
      h('td', {}, b.rack || '–'),
      h('td', {}, b.kafka_addr),
      h('td', {}, h('a', { href: `http://${b.admin_addr}/` }, b.admin_addr)),
      h('td', { class: 'num' }, parts.filter((p) => p.leader === b.id).length),
      h('td', { class: 'num' }, perSec(sample && sample.produced_bytes_per_sec)),
      h('td', { class: 'num' }, perSec(sample && sample.fetched_bytes_per_sec)),
      h('td', { class: 'num' }, b.last_heartbeat_ms_ago === null ? '–' : `${count(b.last_heartbeat_ms_ago)} ms`));
  });
  const size = Object.values(led).reduce((a, p) => a + p.size_bytes, 0);
  return [
    h('section', { class: 'cards' },
      card('brokers live', `${liveBrokers().length} / ${c.brokers.length}`, liveBrokers().length < c.brokers.length ? 'warn' : ''),
      card('controller', c.controller === null ? 'none' : `broker ${c.controller}`, c.controller === null ? 'warn' : ''),
      card('topics', state.topics.length),
      card('partitions', parts.length),
      card('under-replicated', under, under ? 'warn' : ''),
      card('offline partitions', offline, offline ? 'warn' : ''),
      card('stored (leaders)', bytes(size)),
      card('produce', perSec(last(produce))),
      card('fetch', perSec(last(fetched)))),
    h('h2', {}, 'Brokers'),
    table(['id', 'status', 'role', 'rack', 'Kafka address', 'admin', 'partitions led', 'produce', 'fetch', 'last heard'], brokerRows, { id: 'brokers' }),
    h('h2', {}, 'Traffic'),
    h('section', { class: 'charts' },
      chart('Produce', [{ name: 'record bytes in', points: produce, cls: 'a' }], perSec),
      chart('Fetch', [{ name: 'record bytes out', points: fetched, cls: 'b' }], perSec),
      chart('Produce latency', [
        { name: 'p99', points: clusterSeries('produce_p99_ms', Math.max), cls: 'c' },
        { name: 'p50', points: clusterSeries('produce_p50_ms', Math.max), cls: 'a' },
      ], ms),
      chart('Requests', [
        { name: 'produce/s', points: clusterSeries('produce_requests_per_sec', sum), cls: 'a' },
        { name: 'fetch/s', points: clusterSeries('fetch_requests_per_sec', sum), cls: 'b' },
      ], (v) => `${v.toFixed(v < 10 ? 1 : 0)}/s`)),
  ];
}

function topicsView() {
  const led = ledByGroup();
  const brokers = Math.max(1, liveBrokers().length);
  const form = h('form', { id: 'create-topic', class: 'inline', onsubmit: (e) => { e.preventDefault(); createTopic(e.target); } },
    h('label', {}, 'Name', h('input', { name: 'name', required: true, pattern: '[a-zA-Z0-9._\\-]+', maxlength: 249, placeholder: 'orders' })),
    h('label', {}, 'Partitions', h('input', { name: 'partitions', type: 'number', min: 1, value: 3, required: true })),
    h('label', {}, 'Replication factor', h('input', { name: 'replication_factor', type: 'number', min: 1, value: Math.min(3, brokers), required: true })),
    h('label', { class: 'wide' }, 'Configs', h('input', { name: 'configs', placeholder: 'retention.ms=86400000, cleanup.policy=delete' })),
    h('button', { type: 'submit', class: 'primary' }, 'Create topic…'));
  const rows = state.topics.map((t) => {
    const ps = t.partitions.map((p) => led[p.group]).filter(Boolean);
    const records = ps.reduce((a, p) => a + (p.high_watermark - p.log_start_offset), 0);
    const size = ps.reduce((a, p) => a + p.size_bytes, 0);
    const under = t.partitions.filter((p) => partitionHealth(p) !== 'ok').length;
    const rate = topicRate(t.name);
    return h('tr', { 'data-topic': t.name, class: under ? 'bad' : '' },
      h('td', {}, h('a', { href: `#/topics/${encode(t.name)}` }, t.name)),
      h('td', { class: 'num' }, t.partitions.length),
      h('td', { class: 'num' }, t.replication_factor),
      h('td', { class: 'num' }, count(records)),
      h('td', { class: 'num' }, bytes(size)),
      h('td', { class: 'num' }, rate === null ? '–' : `${count(Math.round(rate))} msg/s`),
      h('td', { class: 'num' }, under),
      h('td', {}, h('button', { class: 'danger small', 'data-action': 'delete', onclick: () => deleteTopic(t.name) }, 'Delete…')));
  });
  return [
    h('h2', {}, 'Create a topic'), form,
    h('h2', {}, `Topics (${state.topics.length})`),
    table(['name', 'partitions', 'RF', 'records', 'size', 'throughput', 'not healthy', ''], rows, { id: 'topics' }),
  ];
}

function topicView(name) {
  const t = state.topics.find((x) => x.name === name);
  if (!t) return [h('h2', {}, name), h('p', { class: 'error' }, `Topic "${name}" does not exist.`), h('a', { href: '#/topics' }, 'All topics')];
  const led = ledByGroup();
  const rows = t.partitions.map((p) => {
    const l = led[p.group];
    const health = partitionHealth(p);
    return h('tr', { 'data-partition': p.partition, class: health === 'ok' ? '' : `bad ${health}` },
      h('td', { class: 'num' }, p.partition),
      h('td', { class: 'num' }, p.leader ?? 'none'),
      h('td', { class: 'num' }, p.leader_epoch ?? '–'),
      h('td', {}, p.replicas.join(', ')),
      h('td', {}, p.isr.join(', ')),
      h('td', { class: 'num' }, count(l && l.log_start_offset)),
      h('td', { class: 'num' }, count(l && l.high_watermark)),
      h('td', { class: 'num' }, bytes(l && l.size_bytes)),
      h('td', { class: `health ${health}` }, health + (p.reassigning_to ? ` (moving to ${p.reassigning_to.join(', ')})` : '')),
      h('td', {}, h('button', { class: 'small', 'data-action': 'trim', onclick: () => trimPartition(t.name, p.partition, l ? l.high_watermark : -1) }, 'Trim…')));
  });
  const configRows = Object.entries(t.configs).map(([k, c]) =>
    h('tr', { 'data-config': k },
      h('td', {}, k),
      h('td', { class: 'value' }, c.value),
      h('td', {}, c.is_default ? 'default' : 'override'),
      h('td', {},
        h('button', { class: 'small', 'data-action': 'edit', onclick: () => editConfig(t.name, k, c.value) }, 'Edit…'),
        c.is_default ? null : h('button', { class: 'small', 'data-action': 'reset', onclick: () => resetConfig(t.name, k) }, 'Reset…'))));
  const rate = topicRate(t.name);
  return [
    h('div', { class: 'title' },
      h('h2', {}, `Topic ${t.name}`),
      h('button', { class: 'danger', id: 'delete-topic', onclick: () => deleteTopic(t.name) }, 'Delete topic…')),
    h('p', { class: 'meta' }, `id ${t.id} · ${t.partitions.length} partitions · replication factor ${t.replication_factor} · ${rate === null ? '–' : `${count(Math.round(rate))} msg/s`}`),
    h('h3', {}, 'Partitions'),
    table(['partition', 'leader', 'epoch', 'replicas', 'ISR', 'log start', 'high watermark', 'size', 'health', ''], rows, { id: 'partitions' }),
    h('h3', {}, 'Configs'),
    table(['key', 'value', 'source', ''], configRows, { id: 'configs' }),
  ];
}

/// The lag of each committed offset: the partition's high watermark minus
/// the committed offset.
function lags(detail) {
  const led = ledByGroup();
  const groupOf = {};
  for (const t of state.topics) for (const p of t.partitions) groupOf[`${t.name}/${p.partition}`] = p.group;
  return detail.offsets.map((o) => {
    const l = led[groupOf[`${o.topic}/${o.partition}`]];
    const hw = l ? l.high_watermark : null;
    return { ...o, high_watermark: hw, lag: hw === null || o.committed < 0 ? null : Math.max(0, hw - o.committed) };
  });
}

function groupsView() {
  if (!state.groups) return [h('p', {}, 'loading…')];
  const rows = state.groups.groups.map((g) => {
    const d = state.groupDetails[g.group_id];
    const total = d ? lags(d).reduce((a, o) => a + (o.lag || 0), 0) : null;
    return h('tr', { 'data-group': g.group_id },
      h('td', {}, h('a', { href: `#/groups/${encode(g.group_id)}` }, g.group_id)),
      h('td', {}, g.state),
      h('td', {}, g.group_type),
      h('td', {}, g.protocol_type || '–'),
      h('td', { class: 'num' }, g.coordinator),
      h('td', { class: 'num' }, d ? d.members.length : '–'),
      h('td', { class: 'num' }, count(total)));
  });
  return [
    h('h2', {}, `Consumer groups (${state.groups.groups.length})`),
    state.groups.unreachable.length ? h('p', { class: 'error' }, `Brokers not answering: ${state.groups.unreachable.join(', ')}`) : null,
    table(['group', 'state', 'type', 'protocol', 'coordinator', 'members', 'lag'], rows, { id: 'groups' }),
  ];
}

function groupView(id) {
  const d = state.groupDetails[id];
  if (!d) return [h('h2', {}, `Group ${id}`), h('p', {}, 'loading…')];
  const members = d.members.map((m) => h('tr', {},
    h('td', {}, m.member_id), h('td', {}, m.instance_id || '–'), h('td', {}, m.client_id), h('td', {}, m.client_host)));
  const offsets = lags(d).map((o) => h('tr', { 'data-offset': `${o.topic}-${o.partition}` },
    h('td', {}, o.topic), h('td', { class: 'num' }, o.partition), h('td', { class: 'num' }, count(o.committed)),
    h('td', { class: 'num' }, count(o.high_watermark)), h('td', { class: 'num lag' }, count(o.lag))));
  return [
    h('h2', {}, `Group ${d.group_id}`),
    h('p', { class: 'meta' }, `state ${d.state} · protocol ${d.protocol_type || '–'} ${d.protocol || ''} · coordinator broker ${d.coordinator}`),
    h('h3', {}, `Members (${d.members.length})`),
    table(['member', 'instance', 'client', 'host'], members, { id: 'members' }),
    h('h3', {}, 'Committed offsets and lag'),
    table(['topic', 'partition', 'committed', 'high watermark', 'lag'], offsets, { id: 'offsets' }),
  ];
}

// ---------------------------------------------------------------- loop

function route() {
  const parts = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  return { page: parts[0] || 'overview', arg: parts.slice(1).join('/') };
}

function render() {
  const { page, arg } = route();
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.nav === page);
  const view = document.getElementById('view');
  // Keep what the user is typing: a form is rebuilt only when the page changes.
  const form = view.querySelector('form');
  const kept = form && view.dataset.page === page ? form : null;
  let content;
  if (page === 'topics' && arg) content = topicView(arg);
  else if (page === 'topics') content = topicsView();
  else if (page === 'groups' && arg) content = groupView(arg);
  else if (page === 'groups') content = groupsView();
  else content = overview();
  if (kept) content = content.map((el) => (el.tagName === 'FORM' ? kept : el));
  view.replaceChildren(...content.filter(Boolean));
  view.dataset.page = page;
}

async function refresh() {
  const { page, arg } = route();
  try {
    const wantGroups = page === 'groups';
    const [cluster, topics, stats, groups] = await Promise.all([
      api('GET', '/v1/cluster'),
      api('GET', '/v1/topics'),
      api('GET', '/v1/stats'),
      wantGroups ? api('GET', '/v1/groups') : Promise.resolve(state.groups),
    ]);
    Object.assign(state, { cluster, topics, stats, groups, error: null });
    if (wantGroups) {
      const ids = arg ? [arg] : groups.groups.slice(0, 50).map((g) => g.group_id);
      const details = await Promise.all(ids.map((id) => api('GET', `/v1/groups/${encode(id)}`).catch(() => null)));
      ids.forEach((id, i) => { if (details[i]) state.groupDetails[id] = details[i]; });
    }
    recordTopicOffsets();
  } catch (e) {
    state.error = e.message;
  }
  const banner = document.getElementById('banner');
  banner.hidden = !state.error;
  banner.textContent = state.error ? `Cannot reach this broker's admin API: ${state.error}` : '';
  document.getElementById('status').textContent = state.cluster
    ? `served by broker ${state.cluster.served_by} · updated ${new Date().toLocaleTimeString()}`
    : 'not connected';
  // A dialog is open: leave the page under it alone.
  if (!document.getElementById('confirm').open) render();
}

// The last action's outcome stays up across pages (a deleted topic's page
// goes back to the list) until it is clicked away or the next action.
window.addEventListener('hashchange', refresh);
document.getElementById('toast').addEventListener('click', (e) => { e.target.hidden = true; });
refresh();
setInterval(refresh, REFRESH_MS);
