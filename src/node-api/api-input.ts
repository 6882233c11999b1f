import { isIP } from 'node:net';
import type { CheckpointRef } from '../checkpoint/store/index.ts';
import { validateContainerKey } from '../checkpoint/store/index.ts';
import type { CheckpointOptions } from '../engine/types.ts';
import { ValidationError } from '../util/errors.ts';
import type {
  Compression,
  PeerRef,
  PrepareMigrationRequest,
  RestoreInPlaceOptions,
  RestoreRequest,
  SourcePreparation,
  TransferGrant,
  TransferMode,
} from './node-client.ts';

/**
 * Input checks of the node API's /v1 endpoints. Names end up in Podman
 * paths and store directories, so anything that could leave its place
 * (`/`, `..`) is a 400 before it reaches either.
 */
const CONTAINER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;
const IMAGE_REF = /^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,510}$/;

export function containerName(value: unknown, what = 'container name'): string {
  if (typeof value !== 'string' || !CONTAINER_NAME.test(value) || value.includes('..')) {
    throw new ValidationError(
      `invalid ${what} ${JSON.stringify(value)}`,
      'use a container name or ID: letters, digits, "_", "." and "-", starting with a letter or digit',
    );
  }
  return value;
}

/** An image reference (`localhost/lifeboat/busybox:latest`, an ID, `name@sha256:...`). */
export function imageRef(value: unknown): string {
  if (typeof value !== 'string' || !IMAGE_REF.test(value) || value.includes('..') || value.includes('//')) {
    throw new ValidationError(
      `invalid image reference ${JSON.stringify(value)}`,
      'use an image name, name:tag, name@digest or ID (percent-encode "/" in URL paths)',
    );
  }
  return value;
}

export function checkpointKey(value: unknown): string {
  if (typeof value !== 'string') throw new ValidationError('checkpoint key must be a string');
  return validateContainerKey(value);
}

export function index(value: unknown, what: 'group' | 'version'): number {
  const n = typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    throw new ValidationError(
      `invalid checkpoint ${what} ${JSON.stringify(value)}: must be a non-negative integer`,
    );
  return n;
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new ValidationError(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

function onlyKeys(obj: Record<string, unknown>, allowed: readonly string[], what: string): void {
  const extra = Object.keys(obj).filter((k) => !allowed.includes(k));
  if (extra.length > 0)
    throw new ValidationError(
      `unknown field(s) in ${what}: ${extra.join(', ')}`,
      `allowed: ${allowed.join(', ')}`,
    );
}

function optionalBool(obj: Record<string, unknown>, key: string, what: string): boolean | undefined {
  const v = obj[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new ValidationError(`${what}.${key} must be true or false`);
  return v;
}

const CHECKPOINT_FLAGS = [
  'leaveRunning',
  'tcpEstablished',
  'preCheckpoint',
  'withPrevious',
  'printStats',
  'fileLocks',
  'keep',
  'ignoreRootFs',
  'ignoreVolumes',
] as const satisfies readonly (keyof CheckpointOptions)[];

const RESTORE_FLAGS = ['tcpEstablished', 'ignoreStaticIp', 'ignoreStaticMac'] as const;

/** Query flags: `1`/`true`/`yes` or empty (present) is true; `0`/`false`/`no` false; anything else 400. */
function queryBool(query: URLSearchParams, key: string): boolean | undefined {
  const raw = query.get(key);
  if (raw === null) return undefined;
  const s = raw.trim().toLowerCase();
  if (s === '' || s === '1' || s === 'true' || s === 'yes') return true;
  if (s === '0' || s === 'false' || s === 'no') return false;
  throw new ValidationError(
    `query parameter ${key}=${JSON.stringify(raw)} is not a boolean`,
    'use true or false',
  );
}

function onlyQueryKeys(query: URLSearchParams, allowed: readonly string[]): void {
  const extra = [...new Set(query.keys())].filter((k) => !allowed.includes(k));
  if (extra.length > 0)
    throw new ValidationError(
      `unknown query parameter(s): ${extra.join(', ')}`,
      `allowed: ${allowed.join(', ')}`,
    );
}

export function checkpointOptionsFromQuery(query: URLSearchParams): CheckpointOptions {
  onlyQueryKeys(query, CHECKPOINT_FLAGS);
  const opts: CheckpointOptions = {};
  for (const k of CHECKPOINT_FLAGS) {
    const v = queryBool(query, k);
    if (v !== undefined) opts[k] = v;
  }
  return opts;
}

export function checkpointOptionsFromJson(value: unknown): CheckpointOptions {
  if (value === undefined) return {};
  const obj = object(value, 'options');
  onlyKeys(obj, CHECKPOINT_FLAGS, 'options');
  const opts: CheckpointOptions = {};
  for (const k of CHECKPOINT_FLAGS) {
    const v = optionalBool(obj, k, 'options');
    if (v !== undefined) opts[k] = v;
  }
  return opts;
}

export function restoreRequestFromQuery(query: URLSearchParams): RestoreRequest {
  onlyQueryKeys(query, ['name', ...RESTORE_FLAGS]);
  const req: RestoreRequest = {};
  const name = query.get('name');
  if (name !== null) req.name = containerName(name);
  for (const k of RESTORE_FLAGS) {
    const v = queryBool(query, k);
    if (v !== undefined) req[k] = v;
  }
  return req;
}

export interface CheckpointToStoreBody {
  key: string;
  ref: CheckpointRef;
  options: CheckpointOptions;
}

export function checkpointToStoreBody(value: unknown): CheckpointToStoreBody {
  const obj = object(value, 'request body');
  onlyKeys(obj, ['key', 'group', 'version', 'options'], 'request body');
  return {
    key: checkpointKey(obj['key']),
    ref: { group: index(obj['group'], 'group'), version: index(obj['version'], 'version') },
    options: checkpointOptionsFromJson(obj['options']),
  };
}

export interface RestoreFromStoreBody {
  key: string;
  ref: CheckpointRef;
  restore: RestoreRequest;
}

export function restoreFromStoreBody(value: unknown): RestoreFromStoreBody {
  const obj = object(value, 'request body');
  onlyKeys(obj, ['key', 'group', 'version', 'name', 'clusterAddress', ...RESTORE_FLAGS], 'request body');
  const restore: RestoreRequest = {};
  if (obj['name'] !== undefined) restore.name = containerName(obj['name']);
  if (obj['clusterAddress'] !== undefined)
    restore.clusterAddress = ipv4(obj['clusterAddress'], 'clusterAddress');
  for (const k of RESTORE_FLAGS) {
    const v = optionalBool(obj, k, 'request body');
    if (v !== undefined) restore[k] = v;
  }
  return {
    key: checkpointKey(obj['key']),
    ref: { group: index(obj['group'], 'group'), version: index(obj['version'], 'version') },
    restore,
  };
}

export function fenceBody(value: unknown): { reason: string } {
  const obj = object(value ?? {}, 'request body');
  onlyKeys(obj, ['reason'], 'request body');
  const reason = obj['reason'] ?? 'asked by a manager';
  if (typeof reason !== 'string' || reason.length > 1000)
    throw new ValidationError('reason must be a string of at most 1000 characters');
  return { reason };
}

export function reconcileBody(value: unknown): { elsewhere: string[]; seen?: Map<string, string> } {
  const obj = object(value, 'request body');
  onlyKeys(obj, ['elsewhere', 'seen'], 'request body');
  const list = obj['elsewhere'];
  if (!Array.isArray(list)) throw new ValidationError('elsewhere must be an array of container names');
  const elsewhere = list.map((n) => containerName(n));
  if (obj['seen'] === undefined) return { elsewhere };
  const seen = new Map<string, string>();
  for (const [name, id] of Object.entries(object(obj['seen'], 'seen'))) {
    if (typeof id !== 'string' || !/^[0-9a-f]{12,64}$/.test(id))
      throw new ValidationError(`seen.${name} must be a container ID (hex)`);
    seen.set(containerName(name), id);
  }
  return { elsewhere, seen };
}

export function restoreInPlaceBody(value: unknown): RestoreInPlaceOptions {
  const obj = object(value ?? {}, 'request body');
  onlyKeys(obj, ['tcpEstablished', 'clusterAddress'], 'request body');
  const v = optionalBool(obj, 'tcpEstablished', 'request body');
  return {
    ...(v === undefined ? {} : { tcpEstablished: v }),
    ...(obj['clusterAddress'] !== undefined
      ? { clusterAddress: ipv4(obj['clusterAddress'], 'clusterAddress') }
      : {}),
  };
}

const GRANT_ID = /^[A-Za-z0-9_-]{43}$/;

export function grantId(value: unknown): string {
  if (typeof value !== 'string' || !GRANT_ID.test(value))
    throw new ValidationError(
      'invalid transfer grant id',
      'a grant id is 43 base64url characters a manager issued',
    );
  return value;
}

function nodeName(value: unknown, what: string): string {
  return containerName(value, what);
}

function peerRef(value: unknown): PeerRef {
  const obj = object(value, 'source');
  onlyKeys(obj, ['name', 'url'], 'source');
  const url = obj['url'];
  if (typeof url !== 'string' || !/^(https:\/\/[A-Za-z0-9.:[\]-]+|local:\/\/[A-Za-z0-9_.-]+)$/.test(url))
    throw new ValidationError('source.url must be the https://host:port of a node API');
  return { name: nodeName(obj['name'], 'source.name'), url };
}

export function transferGrantBody(value: unknown): TransferGrant {
  const obj = object(value, 'request body');
  onlyKeys(obj, ['id', 'kind', 'subject', 'target', 'ttlMs'], 'request body');
  const kind = obj['kind'];
  if (kind !== 'migration' && kind !== 'image') throw new ValidationError('kind must be migration or image');
  const ttl = obj['ttlMs'];
  if (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl < 1)
    throw new ValidationError('ttlMs must be a positive integer');
  return {
    id: grantId(obj['id']),
    kind,
    subject: kind === 'image' ? imageRef(obj['subject']) : containerName(obj['subject']),
    target: nodeName(obj['target'], 'target'),
    ttlMs: ttl,
  };
}

function compression(value: unknown, allowAuto: boolean): Compression | 'auto' {
  if (value === 'none' || value === 'gzip' || (allowAuto && value === 'auto')) return value;
  throw new ValidationError(`compression must be none, gzip${allowAuto ? ' or auto' : ''}`);
}

function ipv4(v: unknown, what: string): string {
  if (typeof v !== 'string' || isIP(v) !== 4) throw new ValidationError(`${what} must be an IPv4 address`);
  return v;
}

export function prepareMigrationBody(value: unknown): PrepareMigrationRequest {
  const obj = object(value, 'request body');
  onlyKeys(obj, ['grant', 'source', 'container', 'compression', 'clusterAddress'], 'request body');
  return {
    grant: grantId(obj['grant']),
    source: peerRef(obj['source']),
    container: containerName(obj['container']),
    compression: compression(obj['compression'] ?? 'none', true),
    ...(obj['clusterAddress'] !== undefined
      ? { clusterAddress: ipv4(obj['clusterAddress'], 'clusterAddress') }
      : {}),
  };
}

export function pullImageBody(value: unknown): { grant: string; source: PeerRef; image: string } {
  const obj = object(value, 'request body');
  onlyKeys(obj, ['grant', 'source', 'image'], 'request body');
  return { grant: grantId(obj['grant']), source: peerRef(obj['source']), image: imageRef(obj['image']) };
}

export function dumpQuery(query: URLSearchParams): { mode: TransferMode; compression: Compression } {
  onlyQueryKeys(query, ['mode', 'compression']);
  const mode = query.get('mode');
  if (mode !== 'prepared' && mode !== 'import') throw new ValidationError('mode must be prepared or import');
  return { mode, compression: compression(query.get('compression') ?? 'none', false) as Compression };
}

/** A source's answer to `prepare`, as its peer receives it (buffers travel as base64). */
export interface SourcePreparationWire {
  containerId: string;
  mode: TransferMode;
  reason?: string;
  configDump?: string;
  specDump?: string;
  gzipMBps: number;
}

export function toPreparationWire(p: SourcePreparation): SourcePreparationWire {
  return {
    containerId: p.containerId,
    mode: p.mode,
    ...(p.reason ? { reason: p.reason } : {}),
    ...(p.configDump ? { configDump: p.configDump.toString('base64') } : {}),
    ...(p.specDump ? { specDump: p.specDump.toString('base64') } : {}),
    gzipMBps: p.gzipMBps,
  };
}

/** Checks a peer's answer: it comes from another host, which may be compromised. */
export function fromPreparationWire(value: unknown): SourcePreparation {
  const obj = object(value, 'prepare answer');
  const mode = obj['mode'];
  if (mode !== 'prepared' && mode !== 'import') throw new ValidationError('prepare answer: bad mode');
  const id = obj['containerId'];
  if (typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id))
    throw new ValidationError('prepare answer: bad containerId');
  const gz = obj['gzipMBps'];
  const b64 = (k: string): Buffer | undefined => {
    const v = obj[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.length > 16 * 1024 * 1024)
      throw new ValidationError(`prepare answer: bad ${k}`);
    return Buffer.from(v, 'base64');
  };
  const configDump = b64('configDump');
  const specDump = b64('specDump');
  const reason = obj['reason'];
  return {
    containerId: id,
    mode,
    ...(typeof reason === 'string' ? { reason: reason.slice(0, 1000) } : {}),
    ...(configDump ? { configDump } : {}),
    ...(specDump ? { specDump } : {}),
    gzipMBps: typeof gz === 'number' && Number.isFinite(gz) && gz > 0 ? gz : 1,
  };
}
