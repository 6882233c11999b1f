import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PodmanClient } from '../engine/podman-client.ts';
import { LifeboatError } from '../util/errors.ts';

/** Podman's names for the two members that carry a container's writable-layer changes. */
export const ROOTFS_DIFF_TAR = 'rootfs-diff.tar';
export const DELETED_FILES = 'deleted.files';

export interface RootfsDiff {
  /** Members written into the container's directory (ROOTFS_DIFF_TAR, DELETED_FILES), to stream and remove. */
  members: string[];
  added: number;
  modified: number;
  deleted: number;
}

/**
 * Writes a container's root file system changes as Podman's export does
 * (libpod CRCreateRootFsDiffTar): new and changed files into
 * `rootfs-diff.tar`, deleted paths into `deleted.files`, both in the
 * container's directory. The list comes from Podman (`podman diff`, which
 * knows the storage driver's whiteouts and opaque directories) and the files
 * from the container's mounted root, so what a restore applies is what the
 * container saw. GNU tar writes the archive: pax headers with numeric owners
 * and extended attributes (file capabilities), which Node cannot read.
 * Changed directories are carried with their mode and owner (Podman drops
 * them).
 */
export async function writeRootfsDiff(
  podman: PodmanClient,
  name: string,
  dir: string,
  inHost: HostCommand = (cmd, args) => [cmd, args],
): Promise<RootfsDiff> {
  const changes = await podman.changes(name);
  const include = changes.filter((c) => c.Kind !== 2).map((c) => c.Path.replace(/^\/+/, ''));
  const deleted = changes.filter((c) => c.Kind === 2).map((c) => c.Path);
  const members: string[] = [];
  try {
    if (deleted.length > 0) {
      writeFileSync(join(dir, DELETED_FILES), JSON.stringify(deleted), { mode: 0o600 });
      members.push(DELETED_FILES);
    }
    if (include.length > 0) {
      const root = await podman.mount(name);
      try {
        await gnuTar(root, include, join(dir, ROOTFS_DIFF_TAR), inHost);
      } finally {
        await podman.unmount(name).catch(() => undefined);
      }
      members.push(ROOTFS_DIFF_TAR);
    }
  } catch (err) {
    removeRootfsDiff(dir, members);
    throw err;
  }
  return {
    members,
    added: changes.filter((c) => c.Kind === 1).length,
    modified: changes.filter((c) => c.Kind === 0).length,
    deleted: deleted.length,
  };
}

export function removeRootfsDiff(dir: string, members: readonly string[]): void {
  for (const m of members) rmSync(join(dir, m), { force: true });
}

/**
 * How a command runs in the host's mount namespace, where Podman mounts the
 * container: as is for an agent on its host, through nsenter for a host
 * simulated in namespaces whose NodeService runs in a test process.
 */
export type HostCommand = (cmd: string, args: string[]) => [string, string[]];

function gnuTar(root: string, paths: string[], out: string, inHost: HostCommand): Promise<void> {
  return new Promise((resolve, reject) => {
    const args = [
      '--create',
      `--file=${out}`,
      `--directory=${root}`,
      '--format=pax',
      '--numeric-owner',
      '--xattrs',
      '--xattrs-include=*',
      '--no-recursion',
      '--null',
      '--verbatim-files-from',
      '--files-from=-',
    ];
    const [cmd, argv] = inHost('tar', args);
    const tar = spawn(cmd, argv, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    tar.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    tar.on('error', (err) =>
      reject(
        new LifeboatError(
          'rootfs_diff_failed',
          `cannot run GNU tar for the root file system changes: ${err.message}`,
          {
            hint: "install Debian's tar package (it is essential on Debian; scripts/provision.sh checks it)",
          },
        ),
      ),
    );
    tar.on('close', (code) => {
      // 1: "file changed as we read it", only possible while the container still runs (leave-running dumps)
      if (code === 0 || code === 1) resolve();
      else
        reject(
          new LifeboatError(
            'rootfs_diff_failed',
            `GNU tar failed (${code}) on the root file system changes: ${stderr.trim().slice(0, 500)}`,
          ),
        );
    });
    tar.stdin.on('error', () => undefined);
    tar.stdin.end(paths.map((p) => `${p}\0`).join(''));
  });
}
