import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { LifeboatError } from '../util/errors.ts';
import type { GlusterRecord } from './gluster-volume.ts';
import type { LocalHostRecord } from './local-host.ts';
import type { BridgeConfig } from './network.ts';

/**
 * What a local cluster created, written after every step of `up` and every
 * change of a host, so that `down` (or `lifeboat node kill`) works from
 * another process and after a crash of the one that ran `up`.
 */
export interface RootProcessRecord {
  role: string;
  pid: number;
  cmd: string;
  args: string[];
  logFile: string;
  cgroup: string;
  startedAt: string;
}

export interface ClusterState {
  version: 1;
  root: string;
  /** creating: `up` has not finished (or crashed); up: ready; removing: `down` is running. */
  status: 'creating' | 'up' | 'removing';
  createdAt: string;
  namePrefix: string;
  subnet: string;
  bridge: BridgeConfig & { createdByUs: boolean };
  storage: { kind: 'dir' | 'gluster'; checkpointDir: string; gluster?: GlusterRecord };
  images: { reference: string; imageId: string; path: string }[];
  hosts: LocalHostRecord[];
  /** Processes in the root namespace (managers), under the cluster's own cgroup. */
  processes: RootProcessRecord[];
  /** Mounts the cluster made in the root namespace. */
  mounts: string[];
}

export function readClusterState(path: string): ClusterState | null {
  if (!existsSync(path)) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new LifeboatError('cluster_state_unreadable', `${path} is not valid JSON`, {
      hint: 'remove the file and run `lifeboat down` again: it then finds leftovers by their names',
      cause: err,
    });
  }
  const s = parsed as Partial<ClusterState>;
  if (s.version !== 1 || !Array.isArray(s.hosts)) {
    throw new LifeboatError(
      'cluster_state_unreadable',
      `${path} is not a lifeboat cluster state (version 1)`,
      {
        hint: 'remove the file and run `lifeboat down` again: it then finds leftovers by their names',
      },
    );
  }
  return parsed as ClusterState;
}

/** Atomic (write + rename) and private: it lists PIDs and the agents' environment. */
export function writeClusterState(path: string, state: ClusterState): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}
