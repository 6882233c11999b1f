import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { LifeboatError } from '../util/errors.ts';
import { enterCgroupArgs, ensureFreezerCgroup } from './cgroups.ts';

/**
 * Starts a long-running process of the local cluster: detached from the
 * caller (it outlives `lifeboat up`), output appended to a log file, and
 * inside a freezer cgroup from its first instruction, so that a kill of the
 * cgroup reaches it and everything it forks.
 */
export interface DetachedSpec {
  cmd: string;
  args: string[];
  /** Added to this process's environment. */
  env?: Record<string, string>;
  logFile: string;
  /** Freezer cgroup (relative, e.g. /lifeboat_node1/host) the process runs in. */
  cgroup: string;
  /** `nsenter` arguments ending in `--` to run it inside a host's namespaces. */
  nsenter?: string[];
  /** Shows as argv[0] of the wrapper shell in `ps` for the instant before exec. */
  label: string;
  /** The caller waits for it to end (a one-shot command): it keeps this process alive until then. */
  awaited?: boolean;
}

export interface DetachedProcess {
  pid: number;
  /** Exit code (null: killed by a signal). Settles only while this process is still running. */
  exited: Promise<number | null>;
}

export function spawnDetached(spec: DetachedSpec): DetachedProcess {
  ensureFreezerCgroup(spec.cgroup);
  mkdirSync(dirname(spec.logFile), { recursive: true });
  const inner = [...enterCgroupArgs(spec.cgroup, spec.label), spec.cmd, ...spec.args];
  const [cmd, ...args] = spec.nsenter ? ['nsenter', ...spec.nsenter, ...inner] : inner;
  const log = openSync(spec.logFile, 'a');
  const child = spawn(cmd as string, args, {
    env: { ...process.env, ...(spec.env ?? {}) },
    stdio: ['ignore', log, log],
    detached: true,
  });
  closeSync(log);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(-1));
  });
  if (spec.awaited !== true) child.unref();
  if (child.pid === undefined) {
    throw new LifeboatError('spawn_failed', `could not start ${spec.cmd}`, { hint: `see ${spec.logFile}` });
  }
  return { pid: child.pid, exited };
}
