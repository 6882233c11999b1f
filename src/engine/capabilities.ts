import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { criuLogErrors } from './criu-log.ts';

const run = promisify(execFile);

/** Where provisioning puts the CRIU that passed its self-test (a wrapper or a link). */
export const LIFEBOAT_BIN_DIR = process.env['LIFEBOAT_BIN_DIR'] ?? '/var/lib/lifeboat/bin';

export interface Check {
  ok: boolean;
  detail: string;
}

/** What one host can do, as `lifeboat doctor` and `lifeboat node ls` show it. */
export interface HostCapabilities {
  podman: { version: string | null };
  runc: { version: string | null };
  conmon: { version: string | null };
  criu: { path: string; version: string | null; origin: string | null; check: Check };
  /** CRIU dump+restore of a process holding a listening TCP socket. */
  criuSelfTest: Check;
  /** Soft-dirty memory tracking: pre-dump, --track-mem, incremental dumps. */
  softDirty: Check;
  userfaultfd: Check;
  rlimits: { nofileHard: number | null; nprocHard: number | null; note: string };
  cgroups: string;
  canCheckpoint: boolean;
  canPreDump: boolean;
}

export function criuPath(): string {
  const fromEnv = process.env['LIFEBOAT_CRIU'];
  if (fromEnv) return fromEnv;
  const provisioned = join(LIFEBOAT_BIN_DIR, 'criu');
  return existsSync(provisioned) ? provisioned : 'criu';
}

async function version(cmd: string, args: string[], re: RegExp): Promise<string | null> {
  try {
    const { stdout, stderr } = await run(cmd, args, { timeout: 15_000 });
    const m = re.exec(stdout + stderr);
    return m?.[1] ?? null;
  } catch {
    return null;
  }
}

async function criuCheck(criu: string, args: string[]): Promise<Check> {
  try {
    const { stdout } = await run(criu, ['check', ...args], { timeout: 30_000 });
    return { ok: true, detail: stdout.trim().split('\n').pop() ?? 'ok' };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    const lines = `${e.stdout ?? ''}\n${e.stderr ?? ''}`
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !/Hardware breakpoints|RLIMIT_NOFILE/.test(l))
      .map((l) => l.replace(/^(Warn|Error)\s*\([^)]*\):\s*/, ''));
    return { ok: false, detail: lines.slice(-2).join('; ') || e.message };
  }
}

function hardLimit(name: string): number | null {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const line = limits.split('\n').find((l) => l.startsWith(name));
    const parts = line?.trim().split(/\s{2,}/);
    const v = parts?.[2];
    return v === undefined || v === 'unlimited' ? null : Number(v);
  } catch {
    return null;
  }
}

function cgroupLayout(): string {
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return 'v2 (unified)';
  if (existsSync('/sys/fs/cgroup/freezer'))
    return existsSync('/sys/fs/cgroup/unified') ? 'v1 (hybrid)' : 'v1';
  return 'unknown';
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

async function listening(port: number): Promise<boolean> {
  try {
    const { stdout } = await run('ss', ['-Hltn', `sport = :${port}`]);
    return stdout.includes('LISTEN');
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The same self-test provisioning runs: dump and restore a process that holds
 * a listening TCP socket. Version numbers do not tell whether CRIU works on a
 * given kernel (CRIU 4.1 passes `criu check` and still fails on TCP here).
 */
export async function criuSelfTest(criu = criuPath()): Promise<Check> {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-criu-selftest-'));
  const port = await freePort();
  // The listener is its own session leader (setsid) and the child of a shell
  // that reaps it: once CRIU's dump kills it, no zombie may keep its PID,
  // which the restore needs back.
  const child = spawn('sh', ['-c', `setsid busybox nc -l -p ${port} </dev/null >/dev/null 2>&1 & wait`], {
    stdio: 'ignore',
    detached: true,
  });
  const pid = child.pid;
  child.unref();
  try {
    if (pid === undefined)
      return { ok: false, detail: 'could not start busybox nc (is busybox-static installed?)' };
    for (let i = 0; i < 50 && !(await listening(port)); i++) await sleep(50);
    const target = await findListener(port);
    if (target === undefined) return { ok: false, detail: `busybox nc did not listen on :${port}` };
    try {
      await run(criu, ['dump', '-t', String(target), '-D', dir, '-o', 'dump.log', '--tcp-established'], {
        timeout: 60_000,
      });
    } catch {
      return { ok: false, detail: `dump failed: ${criuLogSummary(join(dir, 'dump.log'))}` };
    }
    try {
      await run(criu, ['restore', '-D', dir, '-o', 'restore.log', '-d', '--tcp-established'], {
        timeout: 60_000,
      });
    } catch {
      return { ok: false, detail: `restore failed: ${criuLogSummary(join(dir, 'restore.log'))}` };
    }
    await sleep(100);
    const ok = await listening(port);
    return ok
      ? { ok: true, detail: 'dumped and restored a process holding a listening TCP socket' }
      : { ok: false, detail: `restored process does not listen on :${port}` };
  } finally {
    await run('pkill', ['-9', '-f', `busybox nc -l -p ${port}`]).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function findListener(port: number): Promise<number | undefined> {
  try {
    const { stdout } = await run('ss', ['-Hltnp', `sport = :${port}`]);
    const m = /pid=(\d+)/.exec(stdout);
    return m?.[1] ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The first error lines of a CRIU log, for a one-line detail. */
function criuLogSummary(path: string): string {
  const lines = criuLogErrors(path);
  if (!lines) return 'no CRIU log';
  return lines.slice(0, 3).join('; ') || 'see ' + path;
}

/** Probes this host (the machine the process runs on). */
export async function probeHostCapabilities(opts: { selfTest?: boolean } = {}): Promise<HostCapabilities> {
  const criu = criuPath();
  const [podmanV, runcV, conmonV, criuV, basic, dirty, uffd] = await Promise.all([
    version('podman', ['--version'], /version\s+(\S+)/),
    version('runc', ['--version'], /runc version\s+(\S+)/),
    version('conmon', ['--version'], /conmon version\s+(\S+)/),
    version(criu, ['--version'], /Version:\s+(\S+)/),
    criuCheck(criu, []),
    criuCheck(criu, ['--feature', 'mem_dirty_track']),
    criuCheck(criu, ['--feature', 'uffd-noncoop']),
  ]);
  let origin: string | null = null;
  try {
    origin = readFileSync(join(LIFEBOAT_BIN_DIR, '..', 'criu.state'), 'utf8').trim();
  } catch {
    origin = null;
  }
  const selfTest =
    opts.selfTest === false
      ? { ok: basic.ok, detail: 'not run (criu check only)' }
      : basic.ok
        ? await criuSelfTest(criu)
        : { ok: false, detail: 'skipped: criu check failed' };
  const softDirty: Check = dirty.ok
    ? { ok: true, detail: 'available: pre-dump and incremental checkpoints possible' }
    : {
        ok: false,
        detail: `kernel lacks soft-dirty memory tracking (criu check --feature mem_dirty_track: ${dirty.detail || 'failed'}); pre-dump, --track-mem and incremental checkpoints are skipped on this host`,
      };
  const nofile = hardLimit('Max open files');
  const nproc = hardLimit('Max processes');
  return {
    podman: { version: podmanV },
    runc: { version: runcV },
    conmon: { version: conmonV },
    criu: { path: criu, version: criuV, origin, check: basic },
    criuSelfTest: selfTest,
    softDirty,
    userfaultfd: uffd.ok ? { ok: true, detail: 'uffd-noncoop supported (lazy pages possible)' } : uffd,
    rlimits: {
      nofileHard: nofile,
      nprocHard: nproc,
      note: 'containers get nofile=1024:1024 and nproc=4096:4096: an rlimit equal to the hard limit fails with EPERM on some hosts',
    },
    cgroups: cgroupLayout(),
    canCheckpoint: podmanV !== null && runcV !== null && basic.ok && selfTest.ok,
    canPreDump: basic.ok && dirty.ok,
  };
}
