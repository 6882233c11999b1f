import { isAbsolute } from 'node:path';
import { ValidationError } from '../../util/errors.ts';
import { DOCKER_CONTAINER_STATUSES, type DockerFilters, type DockerWaitCondition } from './types.ts';

/** Docker's container name rule; a leading '/' is accepted and dropped. */
const CONTAINER_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const CHECKPOINT_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** Linux PATH_MAX. */
const MAX_PATH_LENGTH = 4096;

/*
 * Docker's image reference grammar (distribution/reference): an optional
 * registry host[:port], lowercase path components, an optional tag and an
 * optional digest. Image IDs and their prefixes fit it too.
 */
const REF_ALNUM = '[a-z0-9]+';
const REF_COMPONENT = `${REF_ALNUM}(?:(?:[._]|__|-+)${REF_ALNUM})*`;
const REF_DOMAIN_PART = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const REF_DOMAIN = `(?:${REF_DOMAIN_PART}(?:\\.${REF_DOMAIN_PART})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?`;
const REF_TAG = '[\\w][\\w.-]{0,127}';
const REF_DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const IMAGE_REFERENCE = new RegExp(
  `^(?:${REF_DOMAIN}/)?${REF_COMPONENT}(?:/${REF_COMPONENT})*(?::${REF_TAG})?(?:@${REF_DIGEST})?$`,
);

/** An image name as dockerd accepts it; anything else would reach the engine as a path. */
export function validateImageReference(ref: string): string {
  if (ref.length > 512 || !IMAGE_REFERENCE.test(ref))
    throw new ValidationError(
      `invalid reference format: "${ref.slice(0, 200)}" is not an image name`,
      'use [registry/]name[:tag][@digest] with a lowercase name, e.g. busybox or localhost/lifeboat/redis:latest',
    );
  return ref;
}

export function validateContainerName(name: string): string {
  if (!CONTAINER_NAME.test(name))
    throw new ValidationError(`Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  return name.replace(/^\//, '');
}

/** A checkpoint ID becomes a file name: no path separators, no `..`. */
export function validateCheckpointId(id: unknown): string {
  if (typeof id !== 'string' || id === '') throw new ValidationError('checkpoint ID is required');
  if (id.includes('/') || id.includes('..') || !CHECKPOINT_ID.test(id) || id.length > 128)
    throw new ValidationError(
      `invalid checkpoint ID "${id}": use up to 128 letters, digits, '_', '.' and '-', starting with a letter or digit (no '/', no '..')`,
    );
  return id;
}

/** A checkpoint directory the client chose: absolute, and no `..` anywhere in it. */
export function validateCheckpointDir(dir: unknown): string | undefined {
  if (dir === undefined || dir === null || dir === '') return undefined;
  if (typeof dir !== 'string') throw new ValidationError('checkpoint directory must be a string');
  if (!isAbsolute(dir))
    throw new ValidationError(`invalid checkpoint directory "${dir}": it must be an absolute path`);
  if (dir.split('/').includes('..') || dir.includes('\0'))
    throw new ValidationError(`invalid checkpoint directory "${dir}": '..' is not allowed`);
  if (dir.length > MAX_PATH_LENGTH)
    throw new ValidationError(`invalid checkpoint directory: longer than ${MAX_PATH_LENGTH} characters`);
  return dir;
}

export function parseWaitCondition(raw: string | undefined): DockerWaitCondition {
  if (raw === undefined || raw === '') return 'not-running';
  if (raw === 'not-running' || raw === 'next-exit' || raw === 'removed') return raw;
  throw new ValidationError(`invalid condition: "${raw}" (use not-running, next-exit or removed)`);
}

export function parseTail(raw: string | undefined): number | 'all' {
  // Docker reads any negative number as "all" (testcontainers sends tail=-1)
  if (raw === undefined || raw === '' || raw === 'all' || /^-\d+$/.test(raw)) return 'all';
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw)))
    throw new ValidationError(`invalid value for "tail": "${raw}" (a number or "all")`);
  return Number(raw);
}

/**
 * Parses `?filters=`: `{"key": ["v", ...]}` or the older `{"key": {"v": true}}`.
 * Keys outside `allowed` are a 400, as in dockerd.
 */
export function parseFilters(raw: string | undefined, allowed: readonly string[]): DockerFilters {
  if (raw === undefined || raw.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new ValidationError(`invalid filters: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new ValidationError('invalid filters: expected a JSON object such as {"name":["web"]}');
  const out: DockerFilters = {};
  for (const [key, value] of Object.entries(parsed as Record<string, unknown>)) {
    if (!allowed.includes(key))
      throw new ValidationError(`invalid filter '${key}' (supported: ${allowed.join(', ')})`);
    let values: string[];
    if (Array.isArray(value) && value.every((v) => typeof v === 'string')) values = value as string[];
    else if (typeof value === 'object' && value !== null && !Array.isArray(value))
      values = Object.entries(value as Record<string, unknown>)
        .filter(([, on]) => on === true)
        .map(([v]) => v);
    else throw new ValidationError(`invalid filters: the values of '${key}' must be a list of strings`);
    if (key === 'status') {
      for (const v of values)
        if (!(DOCKER_CONTAINER_STATUSES as readonly string[]).includes(v))
          throw new ValidationError(
            `invalid filter 'status=${v}' (one of ${DOCKER_CONTAINER_STATUSES.join(', ')})`,
          );
    }
    if (values.length) out[key] = values;
  }
  return out;
}

/** Signal names Podman (containers/common) knows on Linux, without the SIG prefix. */
const SIGNAL_NAMES = new Set([
  'ABRT',
  'ALRM',
  'BUS',
  'CHLD',
  'CLD',
  'CONT',
  'FPE',
  'HUP',
  'ILL',
  'INT',
  'IO',
  'IOT',
  'KILL',
  'PIPE',
  'POLL',
  'PROF',
  'PWR',
  'QUIT',
  'SEGV',
  'STKFLT',
  'STOP',
  'SYS',
  'TERM',
  'TRAP',
  'TSTP',
  'TTIN',
  'TTOU',
  'URG',
  'USR1',
  'USR2',
  'VTALRM',
  'WINCH',
  'XCPU',
  'XFSZ',
  'RTMIN',
  'RTMAX',
  ...Array.from({ length: 15 }, (_, i) => `RTMIN+${i + 1}`),
  ...Array.from({ length: 14 }, (_, i) => `RTMAX-${i + 1}`),
]);

/**
 * A signal as dockerd takes it (`SIGTERM`, `term`, `15`, `SIGRTMIN+3`),
 * normalized for Podman. Anything else is a 400 here rather than Podman's
 * "invalid signal" after the container was found.
 */
export function parseSignal(raw: string): string {
  const s = raw.trim().toUpperCase();
  if (/^\d{1,2}$/.test(s) && Number(s) >= 1 && Number(s) <= 64) return String(Number(s));
  const name = s.startsWith('SIG') ? s.slice(3) : s;
  if (SIGNAL_NAMES.has(name)) return `SIG${name}`;
  throw new ValidationError(`invalid signal "${raw}": use a name such as SIGTERM or a number from 1 to 64`);
}

const CTRL_KEYS = new Set([
  'ctrl-@',
  ...Array.from({ length: 26 }, (_, i) => `ctrl-${String.fromCharCode(97 + i)}`),
  'ctrl-[',
  'ctrl-\\',
  'ctrl-]',
  'ctrl-^',
  'ctrl-_',
  'DEL',
]);

/** Docker's detach key syntax: a comma-separated list of single ASCII characters or `ctrl-<x>`. */
export function validateDetachKeys(raw: string): string {
  for (const key of raw.split(',')) {
    const single = key.length === 1 && key.charCodeAt(0) < 128;
    if (!single && !CTRL_KEYS.has(key))
      throw new ValidationError(
        `invalid detach keys "${raw}": use single characters or ctrl-<a-z, @, [, \\, ], ^, _>, separated by commas (e.g. ctrl-p,ctrl-q)`,
      );
  }
  return raw;
}

/** Longest stop timeout accepted (about 11 days): beyond it, timers downstream overflow. */
export const MAX_STOP_TIMEOUT_SECONDS = 1_000_000;

/**
 * `t` of stop and restart: undefined (the default), or 0 to MAX seconds. A
 * negative one waits indefinitely, as with dockerd: here, the longest
 * timeout there is.
 */
export function parseStopTimeout(t: number | undefined): number | undefined {
  if (t === undefined) return undefined;
  if (t < 0) return MAX_STOP_TIMEOUT_SECONDS;
  if (t > MAX_STOP_TIMEOUT_SECONDS)
    throw new ValidationError(`invalid value for "t": ${t} seconds is more than ${MAX_STOP_TIMEOUT_SECONDS}`);
  return t;
}
