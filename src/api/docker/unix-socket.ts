import { chmodSync, chownSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import { execFileSync } from 'node:child_process';
import { LifeboatError } from '../../util/errors.ts';

/** Where lifeboat's Docker endpoint listens unless told otherwise, as dockerd's /run/docker.sock. */
export const DEFAULT_DOCKER_SOCKET = '/run/lifeboat/docker.sock';

/** The group that may use the socket besides root, if it exists (dockerd's is `docker`). */
export const SOCKET_GROUP = 'lifeboat';

/**
 * Makes `path` free for a new listener: a socket left by a process that
 * died is removed; one another process serves, or anything that is not a
 * socket, is an error (never deleted).
 */
export async function claimSocketPath(path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
  const found = await removeDeadSocket(path);
  if (found === 'not-a-socket')
    throw new LifeboatError('socket_path_taken', `${path} exists and is not a socket`, {
      hint: 'remove it, or serve the Docker endpoint elsewhere (--docker unix:///other/path)',
    });
  if (found === 'live')
    throw new LifeboatError('socket_in_use', `another process serves ${path}`, {
      hint: 'stop it first (is a lifeboat manager already running?), or use --docker unix:///other/path',
    });
}

/** Removes a socket nobody serves any more; what was there otherwise. */
export async function removeDeadSocket(path: string): Promise<'none' | 'removed' | 'live' | 'not-a-socket'> {
  try {
    if (!lstatSync(path).isSocket()) return 'not-a-socket';
  } catch {
    return 'none';
  }
  const live = await new Promise<boolean>((resolve) => {
    const c = net.connect(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
  if (live) return 'live';
  unlinkSync(path);
  return 'removed';
}

/**
 * dockerd's permissions: the socket is root's and, if the group exists,
 * its group's (0660); nobody else may connect. Returns the group it gave.
 */
export function restrictSocket(path: string): string {
  chmodSync(path, 0o660);
  const gid = groupId(SOCKET_GROUP);
  if (gid === undefined) return 'root';
  chownSync(path, 0, gid);
  return SOCKET_GROUP;
}

function groupId(name: string): number | undefined {
  try {
    const line = execFileSync('getent', ['group', name], { encoding: 'utf8' });
    const gid = Number(line.split(':')[2]);
    return Number.isInteger(gid) ? gid : undefined;
  } catch {
    return undefined;
  }
}
