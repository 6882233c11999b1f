/**
 * Seeded generators of malformed requests for the API fuzz tests. Every
 * request says whether it is malformed (the answer must be a 4xx with a
 * message) or merely odd (it may succeed, but never with a 5xx).
 */

export interface FuzzRequest {
  /** Generator name, for the failure report. */
  kind: string;
  method: string;
  /** Path with query, sent as is (not normalized). */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send the body chunked, without Content-Length. */
  chunked?: boolean;
  malformed: boolean;
}

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    const v = items[this.int(items.length)];
    if (v === undefined) throw new Error('pick from an empty list');
    return v;
  }
  /** Random printable-ish text, sometimes with control characters and non-ASCII. */
  text(maxLen = 24): string {
    const len = this.int(maxLen + 1);
    let s = '';
    for (let i = 0; i < len; i++) {
      const r = this.next();
      if (r < 0.7) s += String.fromCharCode(0x21 + this.int(0x5e));
      else if (r < 0.8) s += this.pick([' ', '\t', '\n', '\u0000', '\u007f']);
      else if (r < 0.9) s += this.pick(['é', 'ß', '中', '😀', '\u202e', '\ufeff']);
      else s += this.pick(['/', '..', '%', '?', '#', '&', '=', ':', '\\']);
    }
    return s;
  }
}

/** Strings that have broken parsers before: traversal, NUL, format strings, lone surrogates, huge. */
export const NASTY_STRINGS: readonly string[] = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '..',
  '../x',
  '../../../../etc/passwd',
  'a/b',
  '/abs',
  '%2e%2e%2f',
  '%s%n%x',
  '${jndi:ldap://x/a}',
  '\ud800',
  '😀',
  '\u202eevil',
  'UPPER:Case',
  '-1',
  'true',
  'null',
  '\r\nX-Injected: 1',
  'x'.repeat(300),
  'y'.repeat(70_000),
];

/** Classic Swarm scheduling expressions that must not parse. */
export const BAD_SWARM_EXPRESSIONS: readonly string[] = [
  'constraint:region=eu',
  'affinity:==x',
  'constraint:node==/[/',
  'constraint:==',
  'constraint:node!',
  'affinity:container==/(/',
  'affinity:image=~',
  'constraint:node==~/a{99999}/',
  'constraint:',
  'constraint:a==b==c',
  'constraint:\u0000==x',
  'affinity:container!=',
];

export const BAD_CHECKPOINT_IDS: readonly unknown[] = [
  '../x',
  'a/b',
  '..',
  '.hidden',
  '',
  ' ',
  '-starts-with-dash',
  'x'.repeat(200),
  'a\u0000b',
  'a..b',
  123,
  null,
  ['cp1'],
  { id: 'cp1' },
  true,
];

export const BAD_CHECKPOINT_DIRS: readonly unknown[] = [
  'relative/dir',
  '../up',
  '/tmp/../etc',
  '/a/\u0000',
  42,
  ['x'],
  {},
];

export const BAD_CONTAINER_NAMES: readonly string[] = [
  'a',
  '-x',
  '_x',
  '.x',
  'a b',
  'a/b',
  '../x',
  'a:b',
  'ünï',
  'x'.repeat(300) + '!',
  '\u0000',
  'name?',
  '/',
];

/** Path parameters that must not resolve to anything: traversal, encodings, huge, control characters. */
export const BAD_REFS: readonly string[] = [
  '..',
  '%2e%2e',
  '%2e%2e%2fetc',
  '..%2f..%2fetc%2fpasswd',
  'a%2fb',
  '%00',
  'x%00y',
  '%',
  '%zz',
  '%ff%fe',
  'zz' + 'q'.repeat(5000),
  '%E2%80%AEzz',
  'name%20with%20space',
  '%0d%0aX-Injected:%201',
  '*',
  '~root',
];

const FIELD_NAMES = [
  'Image',
  'Cmd',
  'Entrypoint',
  'Env',
  'Labels',
  'ExposedPorts',
  'Tty',
  'OpenStdin',
  'WorkingDir',
  'User',
  'Hostname',
  'StopTimeout',
  'HostConfig',
  'Volumes',
  '__proto__',
  'constructor',
  'prototype',
];

const HOST_CONFIG_NAMES = [
  'PortBindings',
  'Binds',
  'Links',
  'VolumesFrom',
  'NetworkMode',
  'Memory',
  'CpuShares',
  'AutoRemove',
  'ExtraHosts',
  'RestartPolicy',
  'CgroupParent',
  'Privileged',
];

export function randomJson(rng: Rng, depth = 0): unknown {
  const leafOnly = depth >= 4;
  switch (rng.int(leafOnly ? 5 : 8)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, -1, 1.5, -0, 1e308, -1e308, 2 ** 53 + 1, 4294967296, 65536, 6 * 1024 * 1024 - 1]);
    case 3:
      return rng.text();
    case 4:
      return rng.pick(NASTY_STRINGS.filter((s) => s.length < 1000));
    case 5: {
      const n = rng.int(5);
      return Array.from({ length: n }, () => randomJson(rng, depth + 1));
    }
    default: {
      const o: Record<string, unknown> = {};
      const n = rng.int(6);
      for (let i = 0; i < n; i++) {
        const key = rng.chance(0.7) ? rng.pick(depth === 1 ? HOST_CONFIG_NAMES : FIELD_NAMES) : rng.text(12);
        o[key] = randomJson(rng, depth + 1);
      }
      return o;
    }
  }
}

/** A nesting so deep that a recursive parser or walker would overflow its stack. */
export function deepJson(levels: number): string {
  return '['.repeat(levels) + ']'.repeat(levels);
}

/** Malformed JSON texts and bodies that are JSON but not an object. */
export const BAD_JSON_BODIES: readonly (string | Buffer)[] = [
  '{',
  '{"Image":',
  '{"Image": "x",}',
  "{'Image': 'x'}",
  '{"Image": "x"} trailing',
  'null',
  '[]',
  '"str"',
  '1e999',
  'NaN',
  '\ufeff{"Image": 1}',
  Buffer.from([0xff, 0xfe, 0x7b, 0x7d]),
  Buffer.from([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]),
  deepJson(50_000),
  '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000),
];

/** Encodes a path parameter the way clients would (or deliberately not at all). */
export function pathParam(rng: Rng, value: string): string {
  if (rng.chance(0.7)) return encodeURIComponent(value);
  // Unencoded, minus what would end the request line or the path.
  return [...value].map((c) => (c <= ' ' || c === '\u007f' || c === '#' || c === '?' ? '_' : c)).join('');
}

export function query(params: Record<string, string>): string {
  const q = new URLSearchParams(params).toString();
  return q === '' ? '' : `?${q}`;
}

/** Container routes of the Docker API with an `{id}` segment: [method, suffix]. */
const CONTAINER_ROUTES: readonly [string, string][] = [
  ['GET', '/json'],
  ['POST', '/start'],
  ['POST', '/stop'],
  ['POST', '/restart'],
  ['POST', '/kill'],
  ['DELETE', ''],
  ['GET', '/logs'],
  ['POST', '/wait'],
  ['POST', '/attach'],
  ['GET', '/checkpoints'],
  ['POST', '/checkpoints'],
];

const BAD_QUERIES: readonly [string, Record<string, string>][] = [
  ['/stop', { t: 'abc' }],
  ['/stop', { t: '1.5' }],
  ['/stop', { signal: 'NOT A SIGNAL' }],
  ['/restart', { t: '--1' }],
  ['/kill', { signal: '; rm -rf /' }],
  ['/kill', { signal: 'SIG\u0000KILL' }],
  ['/logs', {}],
  ['/logs', { stdout: '1', tail: 'lots' }],
  ['/logs', { stdout: '1', until: 'yesterday' }],
  ['/wait', { condition: 'whenever' }],
  ['/attach', { stream: '1', detachKeys: 'ctrl-zz' }],
  ['/start', { checkpoint: '../x' }],
  ['/start', { checkpoint: 'a/b' }],
  ['/start', { checkpoint: 'cp1', 'checkpoint-dir': 'relative' }],
  ['/start', { checkpoint: 'cp1', 'checkpoint-dir': '/tmp/../etc' }],
  ['/checkpoints', { dir: 'rel/ative' }],
];

const UNKNOWN_PATHS: readonly string[] = [
  '/',
  '//',
  '/containers',
  '/containers/',
  '/containers/x/y/z',
  '/containers/x/exec/extra',
  '/images',
  '/images/busybox/json/more',
  '/networks/a/b/c/d',
  '/volumes/a/b',
  '/swarm',
  '/plugins',
  '/events/more',
  '/exec/x/start',
  '/_ping/more',
  '/../../etc/passwd',
  '/%2e%2e/%2e%2e/etc/passwd',
  '/v1.47',
  '/v1.47/',
  '/v/containers/json',
  '/vX.Y/containers/json',
  '/lifeboat/v1/nothing',
];

const BAD_VERSIONS: readonly string[] = [
  '/v0.1',
  '/v1.0',
  '/v1.23',
  '/v1.48',
  '/v9.99',
  '/v99999999999999999999.1',
];

const WRONG_METHODS: readonly [string, string][] = [
  ['PUT', '/containers/create'],
  ['GET', '/containers/create'],
  ['DELETE', '/containers/json'],
  ['POST', '/containers/json'],
  ['PATCH', '/containers/zz-none'],
  ['PUT', '/containers/zz-none/start'],
  ['GET', '/containers/zz-none/stop'],
  ['OPTIONS', '/_ping'],
  ['POST', '/_ping'],
  ['DELETE', '/version'],
  ['PUT', '/info'],
  ['POST', '/images/json'],
  ['GET', '/containers/zz-none/exec'],
  ['TRACE', '/containers/json'],
  ['HEAD', '/containers/create'],
];

/** Query values that can never be valid: each ends in a character no valid value has. */
function randomBadQuery(rng: Rng): [string, Record<string, string>] {
  // At least two characters after the last comma, ending in '!': no signal, number, key list or condition.
  const junk = (): string => rng.text(10) + rng.pick(['x!', ',,x!', ' x!', '\u0000x!']);
  switch (rng.int(6)) {
    case 0:
      return ['/kill', { signal: junk() }];
    case 1:
      return ['/stop', { t: rng.pick(['1e3', '0x10', '99999999999999999999', '2000000', junk()]) }];
    case 2:
      return ['/attach', { stream: '1', stdout: '1', detachKeys: junk() }];
    case 3:
      return ['/logs', { stdout: '1', tail: junk() }];
    case 4:
      return ['/wait', { condition: junk() }];
    default:
      return ['/restart', { t: junk() }];
  }
}

/** A name that cannot be a unique prefix of a container ID (IDs are hex). */
export function nonHexRef(rng: Rng): string {
  return `zz-fuzz-${rng.int(1e9).toString(36)}`;
}

export interface DockerFuzzOptions {
  /** A body this large is over the endpoint's limit. */
  hugeBytes: number;
  /** An image no host has: creates with it get 404 after validation. */
  missingImage: string;
  /** An image hosts have, for bodies that may be valid. */
  presentImage: string;
  /** A running container that malformed queries are aimed at too; they must leave it running. */
  liveTarget?: string;
}

/** One random request against the Docker-compatible API. */
export function dockerRequest(rng: Rng, o: DockerFuzzOptions): FuzzRequest {
  const json = (v: unknown): string => JSON.stringify(v);
  const ref = (): string => pathParam(rng, rng.chance(0.5) ? nonHexRef(rng) : rng.pick(BAD_REFS));
  const v = rng.chance(0.5) ? '/v1.47' : rng.chance(0.5) ? '/v1.41' : '';
  const pick = rng.int(100);
  if (pick < 12) {
    const name = rng.chance(0.5) ? query({ name: rng.pick(BAD_CONTAINER_NAMES) }) : '';
    const body = randomJson(rng, 1);
    // A random object that happens to name a real image could be valid: point it elsewhere.
    if (typeof body === 'object' && body !== null && !Array.isArray(body) && 'Image' in body)
      (body as Record<string, unknown>)['Image'] = rng.chance(0.5) ? o.missingImage : randomJson(rng, 4);
    return {
      kind: 'create-random-json',
      method: 'POST',
      path: `${v}/containers/create${name}`,
      body: json(body),
      malformed: true,
    };
  }
  if (pick < 22) {
    // A valid body with one field replaced: may still be valid (and then really creates a container).
    const body: Record<string, unknown> = {
      Image: o.presentImage,
      Cmd: ['true'],
      Labels: { 'lifeboat.fuzz': '1' },
      HostConfig: {},
    };
    if (rng.chance(0.5)) body[rng.pick(FIELD_NAMES)] = randomJson(rng, 2);
    else (body['HostConfig'] as Record<string, unknown>)[rng.pick(HOST_CONFIG_NAMES)] = randomJson(rng, 2);
    return {
      kind: 'create-mutated',
      method: 'POST',
      path: `${v}/containers/create`,
      body: json(body),
      malformed: false,
    };
  }
  if (pick < 28) {
    return {
      kind: 'create-bad-name',
      method: 'POST',
      path: `${v}/containers/create${query({ name: rng.pick(BAD_CONTAINER_NAMES) })}`,
      body: json({ Image: o.presentImage, Cmd: ['true'] }),
      malformed: true,
    };
  }
  if (pick < 36) {
    const expr = rng.pick(BAD_SWARM_EXPRESSIONS);
    const body = rng.chance(0.5)
      ? { Image: o.missingImage, Env: ['A=1', expr] }
      : {
          Image: o.missingImage,
          Labels: { 'com.docker.swarm.constraints': json([expr.replace(/^constraint:/, '')]) },
        };
    return {
      kind: 'create-bad-expression',
      method: 'POST',
      path: `${v}/containers/create`,
      body: json(body),
      malformed: true,
    };
  }
  if (pick < 40) {
    const size = o.hugeBytes + 1 + rng.int(1 << 20);
    const filler = json({ Image: o.missingImage, Env: ['X=' + 'x'.repeat(size)] });
    const target = rng.pick(['/containers/create', `/containers/${nonHexRef(rng)}/checkpoints`]);
    return {
      kind: 'huge-body',
      method: 'POST',
      path: `${v}${target}`,
      body: filler,
      chunked: rng.chance(0.5),
      malformed: true,
    };
  }
  if (pick < 48) {
    const [method, suffix] = rng.pick(CONTAINER_ROUTES);
    return { kind: 'bad-ref', method, path: `${v}/containers/${ref()}${suffix}`, malformed: true };
  }
  if (pick < 56) {
    const keys = rng.pick([
      ['name', 'id', 'label', 'status'],
      ['reference', 'dangling', 'label'],
    ]);
    const route = keys.includes('reference') ? '/images/json' : '/containers/json';
    let filters: string;
    switch (rng.int(5)) {
      case 0:
        filters = rng.text(30) + '{';
        break;
      case 1:
        filters = json(rng.pick([1, 'str', [1, 2], true, null, ['name']]));
        break;
      case 2:
        filters = json({
          [rng.pick(['nope', 'before', 'since', 'ancestor', '__proto__', rng.text(8) + '!'])]: ['x'],
        });
        break;
      case 3:
        filters = json({ status: [rng.pick(['alive', 'Running', '', 'dead ', rng.text(6) + '!'])] });
        break;
      default:
        filters = json({ [rng.pick(keys)]: rng.pick([1, null, 'x', [1], [null], true]) });
    }
    return {
      kind: 'bad-filters',
      method: 'GET',
      path: `${v}${route}${query({ filters, all: '1' })}`,
      malformed: true,
    };
  }
  if (pick < 66) {
    const which = rng.int(3);
    const name = nonHexRef(rng);
    if (which === 0) {
      const body: Record<string, unknown> = { CheckpointID: rng.pick(BAD_CHECKPOINT_IDS) };
      if (rng.chance(0.3)) body['CheckpointDir'] = rng.pick(BAD_CHECKPOINT_DIRS);
      if (rng.chance(0.3)) body['Exit'] = rng.pick(['yes', 1, null]);
      return {
        kind: 'bad-checkpoint',
        method: 'POST',
        path: `${v}/containers/${name}/checkpoints`,
        body: json(body),
        malformed: true,
      };
    }
    if (which === 1) {
      const id = rng.pick(BAD_CHECKPOINT_IDS.filter((x): x is string => typeof x === 'string' && x !== ''));
      return {
        kind: 'bad-checkpoint',
        method: 'DELETE',
        path: `${v}/containers/${name}/checkpoints/${pathParam(rng, id)}`,
        malformed: true,
      };
    }
    const id = rng.pick(BAD_CHECKPOINT_IDS.filter((x): x is string => typeof x === 'string' && x !== ''));
    return {
      kind: 'bad-checkpoint',
      method: 'POST',
      path: `${v}/containers/${name}/start${query({ checkpoint: id })}`,
      malformed: true,
    };
  }
  if (pick < 74) {
    const [suffix, params] = rng.chance(0.7) ? rng.pick(BAD_QUERIES) : randomBadQuery(rng);
    const method = suffix === '/logs' || suffix === '/checkpoints' ? 'GET' : 'POST';
    const target = o.liveTarget !== undefined && rng.chance(0.5) ? o.liveTarget : nonHexRef(rng);
    return {
      kind: 'bad-query',
      method,
      path: `${v}/containers/${target}${suffix}${query(params)}`,
      malformed: true,
    };
  }
  if (pick < 80) {
    const path = rng.chance(0.7)
      ? rng.pick(UNKNOWN_PATHS)
      : `/${pathParam(rng, rng.text(20))}/${rng.text(5).replace(/[^a-z]/g, '')}x`;
    return {
      kind: 'unknown-route',
      method: rng.pick(['GET', 'POST', 'DELETE']),
      path: `${v}${path}`,
      malformed: true,
    };
  }
  if (pick < 86) {
    const [method, path] = rng.pick(WRONG_METHODS);
    return { kind: 'wrong-method', method, path: `${v}${path}`, malformed: true };
  }
  if (pick < 90) {
    return {
      kind: 'bad-version',
      method: 'GET',
      path: `${rng.pick(BAD_VERSIONS)}${rng.pick(['/_ping', '/version', '/containers/json'])}`,
      malformed: true,
    };
  }
  return {
    kind: 'bad-json',
    method: 'POST',
    path: `${v}${rng.pick(['/containers/create', `/containers/${nonHexRef(rng)}/checkpoints`])}`,
    headers: {
      'Content-Type': rng.pick(['application/json', 'text/plain', 'application/x-www-form-urlencoded', '']),
    },
    body: rng.pick(BAD_JSON_BODIES),
    malformed: true,
  };
}

/** Who sends a lifeboat API request: an operator (client certificate) or an agent. */
export type Caller = 'client' | 'agent';

export interface LifeboatFuzzRequest extends FuzzRequest {
  caller: Caller;
}

const API = '/lifeboat/v1';

/**
 * One random request against the manager's lifeboat API. `malformed: false`
 * marks the requests the API answers with a 200 and an NDJSON error line
 * today (migrate of a missing container, or with an unreadable body); they
 * must still never be a 5xx.
 */
export function lifeboatRequest(rng: Rng, o: { hugeBytes: number }): LifeboatFuzzRequest {
  const json = (v: unknown): string => JSON.stringify(v);
  const badName = (): string =>
    encodeURIComponent(rng.pick([...BAD_CONTAINER_NAMES.filter((n) => n !== 'a'), ...BAD_REFS]));
  const pick = rng.int(100);
  if (pick < 10) {
    return {
      kind: 'lb-bad-name',
      caller: 'client',
      method: rng.pick(['GET', 'POST']),
      path: `${API}/containers/${badName()}/${rng.pick(['checkpoints', 'checkpoint', 'restore', 'migrate'])}`,
      body: '{}',
      malformed: true,
    };
  }
  if (pick < 18) {
    const since = rng.pick(['abc', '1.5', '99999999999999999999', '0x10', '--1', rng.text(6) + '!']);
    return {
      kind: 'lb-bad-query',
      caller: 'client',
      method: 'GET',
      path: `${API}/events${query({ since })}`,
      malformed: true,
    };
  }
  if (pick < 34) {
    const route = rng.pick(['checkpoint', 'restore']);
    const body = rng.chance(0.3)
      ? rng.pick(BAD_JSON_BODIES)
      : json(
          rng.pick([
            randomJson(rng, 1),
            { imageDir: rng.pick(['relative', '', 7, null, ['x'], '../x']) },
            { imageDir: '/var/tmp/lifeboat-fuzz', node: rng.pick(['../x', 'a/b', ' ', 5]) },
            { imageDir: '/var/tmp/lifeboat-fuzz', workDir: rng.pick([5, 'rel', ['x']]) },
          ]),
        );
    return {
      kind: 'lb-bad-body',
      caller: 'client',
      method: 'POST',
      path: `${API}/containers/${nonHexRef(rng)}/${route}`,
      body,
      malformed: true,
    };
  }
  if (pick < 44) {
    const bad = rng.chance(0.5)
      ? { to: rng.pick(['../x', 'a b', '', '/', 'x'.repeat(200)]) }
      : { via: rng.pick(['carrier-pigeon', '', 'STREAM', 5]) };
    return {
      kind: 'lb-bad-migrate',
      caller: 'client',
      method: 'POST',
      path: `${API}/containers/${nonHexRef(rng)}/migrate`,
      body: json(bad),
      // `via` that is no string is ignored (the default applies): the request is well-formed
      malformed: typeof bad.via !== 'number',
    };
  }
  if (pick < 50) {
    const body = rng.chance(0.5) ? rng.pick(BAD_JSON_BODIES) : json(randomJson(rng, 1));
    return {
      kind: 'lb-migrate-gap',
      caller: 'client',
      method: 'POST',
      path: `${API}/containers/${nonHexRef(rng)}/migrate`,
      body,
      malformed: false,
    };
  }
  if (pick < 66) {
    const body = rng.chance(0.3)
      ? rng.pick(BAD_JSON_BODIES)
      : json(
          rng.chance(0.5)
            ? randomJson(rng, 0)
            : {
                protocol: rng.pick([1, 2, '1', null]),
                report: randomJson(rng, 1),
                sequence: rng.pick([-1, 1.5, 'x']),
              },
        );
    return {
      kind: 'lb-bad-heartbeat',
      caller: 'agent',
      method: 'POST',
      path: `${API}/heartbeat`,
      body,
      malformed: true,
    };
  }
  if (pick < 72) {
    const body = json({
      protocol: 1,
      report: { name: 'x', blob: 'x'.repeat(o.hugeBytes + 1 + rng.int(1 << 20)) },
    });
    return {
      kind: 'lb-huge-body',
      caller: rng.chance(0.5) ? 'agent' : 'client',
      method: 'POST',
      path: rng.chance(0.5) ? `${API}/heartbeat` : `${API}/containers/${nonHexRef(rng)}/checkpoint`,
      body,
      chunked: rng.chance(0.5),
      malformed: true,
    };
  }
  if (pick < 82) {
    // the wrong role for the route: refused before anything is read
    return rng.chance(0.5)
      ? {
          kind: 'lb-wrong-role',
          caller: 'client',
          method: 'POST',
          path: `${API}/heartbeat`,
          body: json(randomJson(rng, 0)),
          malformed: true,
        }
      : {
          kind: 'lb-wrong-role',
          caller: 'agent',
          method: 'GET',
          path: `${API}/${rng.pick(['nodes', 'containers', 'leader', 'events', 'containers/web/checkpoints'])}`,
          malformed: true,
        };
  }
  if (pick < 91) {
    const path = rng.pick([
      `${API}/nothing`,
      `${API}/`,
      `${API}/nodes/x`,
      `${API}/containers/x/y/z`,
      '/lifeboat',
      '/lifeboat/v2/nodes',
      `/${pathParam(rng, rng.text(12))}x`,
    ]);
    return {
      kind: 'lb-unknown-route',
      caller: 'client',
      method: rng.pick(['GET', 'POST', 'DELETE']),
      path,
      malformed: true,
    };
  }
  const [method, path] = rng.pick([
    ['PUT', `${API}/nodes`],
    ['DELETE', `${API}/containers`],
    ['GET', `${API}/heartbeat`],
    ['POST', `${API}/leader`],
    ['GET', `${API}/containers/web/migrate`],
    ['PATCH', `${API}/events`],
    ['HEAD', `${API}/containers/web/restore`],
  ] as const);
  return { kind: 'lb-wrong-method', caller: 'client', method, path, malformed: true };
}
