import { existsSync, readFileSync, writeFileSync, renameSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { LifeboatError } from '../util/errors.ts';

/**
 * Where the lifeboat CLI finds its cluster: written by `lifeboat up`, read by
 * every command that talks to a manager. LIFEBOAT_CONTEXT names another file.
 */
export interface CliContext {
  /** Its name when saved (`lifeboat context create`); the local cluster's is unnamed. */
  name?: string;
  /** Manager API, e.g. https://10.99.0.1:7440 */
  managerUrl: string;
  /** Every manager replica: when the first does not answer, the CLI tries the next (any replica serves). */
  managerUrls?: string[];
  /** Client certificate directory (ca.pem, cert.pem, key.pem). */
  pkiDir: string;
  /** DOCKER_HOST for the docker CLI. */
  dockerHost: string;
  /** Local cluster root (for `lifeboat node kill` and friends). */
  clusterRoot?: string;
}

export const DEFAULT_CONTEXT = process.env['LIFEBOAT_CONTEXT'] ?? '/var/lib/lifeboat/context.json';

export function readContext(path = DEFAULT_CONTEXT): CliContext {
  if (!existsSync(path)) {
    throw new LifeboatError('no_context', `no cluster context at ${path}`, {
      hint: 'start a local cluster with `lifeboat up`, or set LIFEBOAT_CONTEXT to a context file',
    });
  }
  return JSON.parse(readFileSync(path, 'utf8')) as CliContext;
}

export function writeContext(ctx: CliContext, path = DEFAULT_CONTEXT): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(ctx, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}
