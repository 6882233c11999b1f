// @ts-check
/**
 * lifeboat's dashboard: hosts and their containers from the manager's
 * overview (refreshed every 2 s and on every event), the manager's live
 * event stream (server-sent events), a container's checkpoint history, a
 * live migration with its nine steps as they run, and, on a local cluster
 * served through `lifeboat dashboard`, fault buttons. Plain DOM, no
 * framework, no network access but this origin.
 */

/**
 * @typedef {{ name: string, address: string, status: string, lastHeartbeatMsAgo: number, cpus?: number,
 *   memoryBytes?: number, containers: number, running: number, labels: Record<string, string>,
 *   capabilities: { canCheckpoint: boolean, canPreDump: boolean, criu: string | null } }} Host
 * @typedef {{ name: string, node: string, phase: string, image: string, restorePolicy?: string,
 *   ticker?: { intervalMs: number, versionGroup: number }, note?: string, generation: number,
 *   checkpoint?: { version: number, group: number, lastCheckpointAt?: string } }} Container
 * @typedef {{ manager: string, leader?: string, nodes: Host[], containers: Container[] }} Overview
 * @typedef {{ seq: number, time: string, type: string, message: string, container?: string, node?: string }} ClusterEvent
 * @typedef {{ n: number, id: string, title: string, status: string, ms: number, detail?: string }} Step
 */

const API = '/lifeboat/v1';
const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** @type {Overview | undefined} */
let overview;
/** @type {string | undefined} */
let selected;
let local = false;
let migrating = false;

/**
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {(Node | string)[]} [children]
 */
function el(tag, attrs = {}, children = []) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  for (const c of children) e.append(c);
  return e;
}

/** @param {number} ms */
function age(ms) {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** @param {number | undefined} b */
function bytes(b) {
  if (b === undefined) return '?';
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (b >= 1000 && i < u.length - 1) {
    b /= 1000;
    i++;
  }
  return `${b.toFixed(i ? 1 : 0)} ${u[i]}`;
}

/** @param {string} path @param {RequestInit} [init] */
async function api(path, init) {
  const res = await fetch(path, { credentials: 'same-origin', ...init });
  if (!res.ok) {
    let msg = `${res.status} ${res.statusText}`;
    try {
      const body = await res.json();
      msg = body.message ?? msg;
    } catch {
      // not JSON: the status line says it
    }
    throw new Error(msg);
  }
  return res;
}

async function refresh() {
  try {
    overview = /** @type {Overview} */ (await (await api(`${API}/overview`)).json());
    render();
  } catch (err) {
    $('summary').textContent = `cannot reach the manager: ${/** @type {Error} */ (err).message}`;
  }
}

function render() {
  if (!overview) return;
  const o = overview;
  const healthy = o.nodes.filter((n) => n.status === 'healthy').length;
  $('summary').textContent =
    `${o.nodes.length} hosts (${healthy} healthy) · ${o.containers.length} containers · ` +
    `leader ${o.leader ?? 'unknown'} · answered by ${o.manager}`;
  const hosts = $('hosts');
  hosts.replaceChildren(
    ...o.nodes.map((n) => {
      const mine = o.containers.filter((c) => c.node === n.name);
      const card = el('article', { class: 'host', 'data-host': n.name, 'data-status': n.status }, [
        el('h2', {}, [n.name, el('span', { class: `status ${n.status}` }, [n.status])]),
        el('div', { class: 'meta' }, [
          `${n.address} · heartbeat ${age(n.lastHeartbeatMsAgo)} ago · ${n.running}/${n.containers} running` +
            (n.cpus ? ` · ${n.cpus} CPUs` : '') +
            (n.memoryBytes ? ` · ${bytes(n.memoryBytes)}` : '') +
            ` · checkpoint ${n.capabilities?.canCheckpoint ? 'yes' : 'NO'}`,
        ]),
        el(
          'ul',
          { class: 'containers' },
          mine.map((c) => {
            const li = el('li', { 'data-container': c.name, class: c.name === selected ? 'selected' : '' }, [
              el('span', { class: 'name' }, [c.name]),
              ...(c.phase !== 'running' ? [el('span', { class: 'chip' }, [c.phase])] : []),
              ...(c.restorePolicy ? [el('span', { class: 'chip' }, [c.restorePolicy])] : []),
              ...(c.ticker ? [el('span', { class: 'chip' }, [`every ${age(c.ticker.intervalMs)}`])] : []),
              ...(c.checkpoint?.lastCheckpointAt
                ? [
                    el(
                      'span',
                      {
                        class: 'chip',
                        title: `version ${c.checkpoint.version}, group ${c.checkpoint.group}`,
                      },
                      [
                        `v${c.checkpoint.version} ${age(Date.now() - Date.parse(c.checkpoint.lastCheckpointAt))} ago`,
                      ],
                    ),
                  ]
                : []),
            ]);
            li.addEventListener('click', () => select(c.name));
            return li;
          }),
        ),
      ]);
      if (local) {
        const faults = el('div', { class: 'faults' });
        for (const [action, title] of [
          ['kill', 'power loss: every process of the host dies'],
          ['partition', "take the host's link down"],
          ['heal', "bring the host's link back"],
          ['reboot', 'boot the host again'],
        ]) {
          const b = /** @type {HTMLButtonElement} */ (
            el('button', { 'data-action': action, title }, [action])
          );
          b.addEventListener('click', () => fault(n.name, action, b));
          faults.append(b);
        }
        card.append(faults);
      }
      return card;
    }),
  );
  if (selected) renderDetail();
}

function renderDetail() {
  const c = overview?.containers.find((x) => x.name === selected);
  const detail = $('detail');
  if (!c) {
    detail.hidden = true;
    return;
  }
  detail.hidden = false;
  $('detail-name').textContent = c.name;
  const facts = [
    ['host', c.node],
    ['phase', c.phase],
    ['image', c.image],
    ['restore policy', c.restorePolicy ?? 'none'],
    ['checkpoint every', c.ticker ? age(c.ticker.intervalMs) : 'never'],
    ['newest checkpoint', c.checkpoint ? `v${c.checkpoint.version} (group ${c.checkpoint.group})` : 'none'],
    ['generation', String(c.generation)],
    ['last move', c.note ?? ''],
  ];
  $('detail-facts').replaceChildren(
    ...facts.flatMap(([k, v]) => [el('dt', {}, [k ?? '']), el('dd', {}, [v ?? ''])]),
  );
  const to = /** @type {HTMLSelectElement} */ ($('migrate-to'));
  const keep = to.value;
  const targets = (overview?.nodes ?? []).filter((n) => n.name !== c.node && n.status === 'healthy');
  to.replaceChildren(
    el('option', { value: '' }, ['any host (scheduler)']),
    ...targets.map((n) => el('option', { value: n.name }, [n.name])),
  );
  if (targets.some((n) => n.name === keep)) to.value = keep;
  /** @type {HTMLButtonElement} */ ($('migrate-button')).disabled = migrating || c.phase !== 'running';
}

/** @param {string} name */
async function select(name) {
  selected = name;
  $('steps').replaceChildren();
  render();
  const body = /** @type {HTMLTableSectionElement} */ ($('history').querySelector('tbody'));
  body.replaceChildren(el('tr', {}, [el('td', { colspan: '5' }, ['loading…'])]));
  try {
    /** @type {{ group: number, versions: { group: number, version: number, createdAt: string, node: string, bytes?: number, size?: number }[] }[]} */
    const groups = await (await api(`${API}/containers/${encodeURIComponent(name)}/checkpoints`)).json();
    const versions = groups
      .flatMap((g) => g.versions)
      .sort((a, b) => b.group - a.group || b.version - a.version);
    body.replaceChildren(
      ...(versions.length
        ? versions.map((v) =>
            el('tr', {}, [
              el('td', {}, [String(v.group)]),
              el('td', {}, [String(v.version)]),
              el('td', { title: v.createdAt }, [`${age(Date.now() - Date.parse(v.createdAt))} ago`]),
              el('td', {}, [v.node]),
              el('td', {}, [bytes(v.bytes ?? v.size)]),
            ]),
          )
        : [el('tr', {}, [el('td', { colspan: '5' }, ['no checkpoint stored'])])]),
    );
  } catch (err) {
    body.replaceChildren(
      el('tr', {}, [el('td', { colspan: '5' }, [`cannot list: ${/** @type {Error} */ (err).message}`])]),
    );
  }
}

/** @param {Step} s */
function showStep(s) {
  const steps = $('steps');
  let li = steps.querySelector(`[data-step="${s.id}"]`);
  if (!li) {
    li = el('li', { 'data-step': s.id });
    steps.append(li);
  }
  li.setAttribute('data-status', s.status === 'ok' ? 'done' : s.status);
  li.textContent = `${s.title}: ${s.status}${s.ms ? ` (${s.ms} ms)` : ''}${s.detail ? ` · ${s.detail}` : ''}`;
}

async function migrate(/** @type {SubmitEvent} */ ev) {
  ev.preventDefault();
  if (!selected || migrating) return;
  const to = /** @type {HTMLSelectElement} */ ($('migrate-to')).value;
  migrating = true;
  renderDetail();
  const steps = $('steps');
  steps.replaceChildren();
  try {
    const res = await api(`${API}/containers/${encodeURIComponent(selected)}/migrate`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(to ? { to } : {}),
    });
    const reader = /** @type {ReadableStream<Uint8Array>} */ (res.body).getReader();
    const text = new TextDecoder();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += text.decode(value, { stream: true });
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (!line) continue;
        const m = JSON.parse(line);
        if (m.step) showStep(m.step);
        if (m.result)
          steps.append(
            el('li', { 'data-status': 'done', class: 'result' }, [
              `moved to ${m.result.to} in ${m.result.totalMs} ms`,
            ]),
          );
        if (m.error)
          steps.append(
            el('li', { 'data-status': 'failed', class: 'result' }, [`failed: ${m.error.message}`]),
          );
      }
    }
  } catch (err) {
    steps.append(
      el('li', { 'data-status': 'failed', class: 'result' }, [
        `failed: ${/** @type {Error} */ (err).message}`,
      ]),
    );
  } finally {
    migrating = false;
    await refresh();
  }
}

/** @param {string} host @param {string} action @param {HTMLButtonElement} button */
async function fault(host, action, button) {
  button.disabled = true;
  try {
    const res = await api(`/local/nodes/${encodeURIComponent(host)}/${action}`, { method: 'POST' });
    addEvent({
      seq: 0,
      time: new Date().toISOString(),
      type: `local.${action}`,
      message: (await res.json()).message,
      node: host,
    });
  } catch (err) {
    addEvent({
      seq: 0,
      time: new Date().toISOString(),
      type: 'local.failed',
      message: `${action} ${host}: ${/** @type {Error} */ (err).message}`,
    });
  } finally {
    button.disabled = false;
    await refresh();
  }
}

/** @param {ClusterEvent} e */
function addEvent(e) {
  const list = $('events');
  const level = /failed|lost|error/.test(e.type)
    ? 'error'
    : /fence|restarted|skipped|slow/.test(e.type)
      ? 'warn'
      : '';
  list.prepend(
    el('li', { class: level, 'data-type': e.type }, [
      el('time', { datetime: e.time }, [new Date(e.time).toLocaleTimeString()]),
      e.message,
    ]),
  );
  while (list.children.length > 300) list.lastElementChild?.remove();
}

function listen() {
  const src = new EventSource(`${API}/events/stream?since=${Math.max(0, lastSeq - 50)}`);
  src.addEventListener('open', () => $('live').classList.remove('off'));
  src.addEventListener('error', () => $('live').classList.add('off'));
  src.addEventListener('message', (m) => {
    const e = /** @type {ClusterEvent} */ (JSON.parse(m.data));
    lastSeq = Math.max(lastSeq, e.seq);
    addEvent(e);
    void refresh();
  });
}
let lastSeq = 0;

async function main() {
  $('migrate-form').addEventListener('submit', (ev) => void migrate(/** @type {SubmitEvent} */ (ev)));
  local = await fetch('/local', { credentials: 'same-origin' }).then(
    (r) => r.ok,
    () => false,
  );
  await refresh();
  listen();
  setInterval(() => void refresh(), 2000);
}

void main();
