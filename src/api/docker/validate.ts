import { isAbsolute } from 'node:path';
import { ValidationError } from '../../util/errors.ts';
import { DOCKER_CONTAINER_STATUSES, type DockerFilters, type DockerWaitCondition } from './types.ts';

/** Docker's container name rule; a leading '/' is accepted and dropped. */
const CONTAINER_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;
const CHECKPOINT_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

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
  return dir;
}

export function parseWaitCondition(raw: string | undefined): DockerWaitCondition {
  if (raw === undefined || raw === '') return 'not-running';
  if (raw === 'not-running' || raw === 'next-exit' || raw === 'removed') return raw;
  throw new ValidationError(`invalid condition: "${raw}" (use not-running, next-exit or removed)`);
}

export function parseTail(raw: string | undefined): number | 'all' {
  if (raw === undefined || raw === '' || raw === 'all') return 'all';
  if (!/^\d+$/.test(raw)) throw new ValidationError(`invalid value for "tail": "${raw}" (a number or "all")`);
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
