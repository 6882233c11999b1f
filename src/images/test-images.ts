import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, realpathSync, renameSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { LifeboatError } from '../util/errors.ts';
import { buildOciArchive, type LayerEntry } from './oci-archive.ts';

/**
 * The images lifeboat's tests, demos and benchmarks run, built from Debian's
 * binaries with no registry: `busybox` (busybox-static) and `redis`
 * (redis-server + the libraries ldd lists, in-memory only). Deterministic:
 * the same host packages give the same image ID on every node.
 */
export const BUSYBOX_IMAGE = 'localhost/lifeboat/busybox:latest';
export const REDIS_IMAGE = 'localhost/lifeboat/redis:latest';

export interface BuiltImage {
  reference: string;
  imageId: string;
  /** oci-archive on disk, ready for `podman load` on any node. */
  path: string;
}

function need(path: string, pkg: string): Buffer {
  if (!existsSync(path)) {
    throw new LifeboatError('missing_host_binary', `${path} is missing`, {
      hint: `install Debian's ${pkg} (scripts/provision.sh does)`,
    });
  }
  return readFileSync(realpathSync(path));
}

function baseEntries(): LayerEntry[] {
  const busybox = need('/bin/busybox', 'busybox-static');
  const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' })
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s && s !== 'busybox');
  const entries: LayerEntry[] = [
    ...['bin', 'etc', 'proc', 'sys', 'dev', 'root', 'data', 'var', 'usr', 'usr/bin', 'run'].map(
      (p): LayerEntry => ({ type: 'dir', path: p }),
    ),
    { type: 'dir', path: 'tmp', mode: 0o1777 },
    { type: 'file', path: 'bin/busybox', mode: 0o755, content: busybox },
    {
      type: 'file',
      path: 'etc/passwd',
      content: Buffer.from('root:x:0:0:root:/root:/bin/sh\nredis:x:999:999::/data:/bin/sh\n'),
    },
    { type: 'file', path: 'etc/group', content: Buffer.from('root:x:0:\nredis:x:999:\n') },
    { type: 'file', path: 'etc/hosts', content: Buffer.from('127.0.0.1 localhost\n') },
  ];
  for (const a of new Set(applets)) entries.push({ type: 'symlink', path: `bin/${a}`, target: 'busybox' });
  return entries;
}

/** Files a dynamically linked binary needs, by ldd, at the paths ldd names. */
function withLibraries(binary: string, pkg: string): LayerEntry[] {
  const out: LayerEntry[] = [
    { type: 'file', path: binary.slice(1), mode: 0o755, content: need(binary, pkg) },
  ];
  const ldd = execFileSync('ldd', [binary], { encoding: 'utf8' });
  for (const line of ldd.split('\n')) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m?.[1]) out.push({ type: 'file', path: m[1].slice(1), mode: 0o755, content: need(m[1], pkg) });
  }
  return out;
}

function dirsFor(entries: LayerEntry[]): LayerEntry[] {
  const dirs = new Set<string>();
  for (const e of entries) {
    const parts = e.path.split('/');
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
  }
  const have = new Set(entries.filter((e) => e.type === 'dir').map((e) => e.path));
  return [...dirs].filter((d) => !have.has(d)).map((d): LayerEntry => ({ type: 'dir', path: d }));
}

function dedupe(entries: LayerEntry[]): LayerEntry[] {
  const m = new Map<string, LayerEntry>();
  for (const e of entries) m.set(e.path, e);
  return [...m.values()];
}

async function writeImage(
  dir: string,
  file: string,
  build: ReturnType<typeof buildOciArchive>,
  reference: string,
): Promise<BuiltImage> {
  const { archive, imageId } = await build;
  mkdirSync(dir, { recursive: true });
  const path = join(dir, file);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, archive);
  renameSync(tmp, path);
  return { reference, imageId, path };
}

export async function buildBusyboxImage(dir: string): Promise<BuiltImage> {
  return writeImage(
    dir,
    'busybox.oci.tar',
    buildOciArchive({ reference: BUSYBOX_IMAGE, entries: baseEntries(), cmd: ['sh'] }),
    BUSYBOX_IMAGE,
  );
}

export async function buildRedisImage(dir: string): Promise<BuiltImage> {
  const entries = dedupe([
    ...baseEntries(),
    ...withLibraries('/usr/bin/redis-server', 'redis-server'),
    ...withLibraries('/usr/bin/redis-cli', 'redis-tools'),
  ]);
  return writeImage(
    dir,
    'redis.oci.tar',
    buildOciArchive({
      reference: REDIS_IMAGE,
      entries: [...entries, ...dirsFor(entries)],
      // In-memory only: no RDB snapshots, no AOF. State lives in the process, which is what CRIU moves.
      cmd: [
        'redis-server',
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'no',
        '--bind',
        '0.0.0.0',
        '--dir',
        '/data',
        '--enable-debug-command',
        'yes',
      ],
      workingDir: '/data',
      exposedPorts: ['6379/tcp'],
    }),
    REDIS_IMAGE,
  );
}

export async function buildTestImages(dir: string): Promise<BuiltImage[]> {
  return [await buildBusyboxImage(dir), await buildRedisImage(dir)];
}
