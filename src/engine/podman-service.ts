import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync, closeSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LifeboatError } from '../util/errors.ts';
import { LIFEBOAT_BIN_DIR } from './capabilities.ts';
import { PodmanClient } from './podman-client.ts';

/**
 * An isolated Podman instance: its own storage, run dirs, tmp, volumes,
 * network config, containers.conf (file locks, ulimits, runc, conmon PATH so
 * runc finds the provisioned CRIU) and REST socket. Run inside a host sandbox
 * (see devcluster/host-sandbox.ts) so the paths Podman hard-codes are private too.
 */
export interface PodmanServiceOptions {
  dir: string;
  /** `nsenter` arguments placing the service in a host's namespaces (omit: this machine's). */
  nsenter?: string[];
  /** cgroup parent of every container of this instance, e.g. /lifeboat_node1 */
  cgroupParent?: string;
  /** Let the starting process exit while the service runs on (a local cluster outlives `lifeboat up`). */
  detach?: boolean;
}

const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class PodmanService {
  readonly dir: string;
  readonly cgroupParent: string;
  private readonly nsenter: string[] | undefined;
  private readonly detach: boolean;
  private proc: ChildProcess | undefined;

  constructor(opts: PodmanServiceOptions) {
    this.dir = opts.dir;
    this.nsenter = opts.nsenter;
    this.detach = opts.detach ?? false;
    this.cgroupParent = opts.cgroupParent ?? '/lifeboat';
  }

  get graphroot(): string {
    return join(this.dir, 'storage');
  }
  get runroot(): string {
    return join(this.dir, 'runroot');
  }
  get socketPath(): string {
    return join(this.dir, 'podman.sock');
  }
  get logPath(): string {
    return join(this.dir, 'podman-service.log');
  }
  get pid(): number | undefined {
    return this.proc?.pid;
  }

  private writeConfig(): { env: NodeJS.ProcessEnv; args: string[] } {
    const d = this.dir;
    for (const sub of ['storage', 'runroot', 'tmp', 'networks']) mkdirSync(join(d, sub), { recursive: true });
    const path = `${LIFEBOAT_BIN_DIR}:${SYSTEM_PATH}`;
    writeFileSync(
      join(d, 'containers.conf'),
      [
        '[containers]',
        // A container rlimit equal to the host's hard limit fails with EPERM: stay below.
        'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]',
        '[engine]',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        `events_logfile_path = "${d}/events.log"`,
        'runtime = "runc"',
        // Otherwise every instance shares /dev/shm/libpod_lock.
        'lock_type = "file"',
        `tmp_dir = "${d}/tmp"`,
        // named volumes stay at Podman's default, <graphroot>/volumes: a move's archive
        // names their paths, and the rewrite for the target host swaps the graphroot
        `conmon_env_vars = ["PATH=${path}"]`,
        '[network]',
        `network_config_dir = "${d}/networks"`,
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(d, 'storage.conf'),
      [
        '[storage]',
        'driver = "overlay"',
        `runroot = "${this.runroot}"`,
        `graphroot = "${this.graphroot}"`,
        '',
      ].join('\n'),
    );
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: path,
      CONTAINERS_CONF: join(d, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: join(d, 'storage.conf'),
      TMPDIR: join(d, 'tmp'),
    };
    const args = [
      '--root',
      this.graphroot,
      '--runroot',
      this.runroot,
      '--tmpdir',
      join(d, 'tmp'),
      '--network-config-dir',
      join(d, 'networks'),
      '--events-backend',
      'file',
      '--cgroup-manager',
      'cgroupfs',
      '--runtime',
      'runc',
      'system',
      'service',
      '--time=0',
      `unix://${this.socketPath}`,
    ];
    return { env, args };
  }

  async start(timeoutMs = 30_000): Promise<PodmanClient> {
    const { env, args } = this.writeConfig();
    if (existsSync(this.socketPath)) rmSync(this.socketPath);
    const log = openSync(this.logPath, 'a');
    const [cmd, cmdArgs] = this.nsenter
      ? ['nsenter', [...this.nsenter, 'podman', ...args]]
      : ['podman', args];
    this.proc = spawn(cmd, cmdArgs, { env, stdio: ['ignore', log, log], detached: true });
    if (this.detach) this.proc.unref();
    closeSync(log);
    let exited: number | null = null;
    this.proc.on('exit', (code) => (exited = code ?? -1));
    const client = new PodmanClient(this.socketPath);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (exited !== null) break;
      if (existsSync(this.socketPath)) {
        try {
          if (await client.ping()) return client;
        } catch {
          // not yet accepting
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    await this.stop();
    throw new LifeboatError(
      'podman_service_failed',
      exited !== null
        ? `podman service exited with code ${exited}`
        : `podman service did not answer within ${timeoutMs} ms`,
      { hint: `see ${this.logPath}` },
    );
  }

  client(): PodmanClient {
    return new PodmanClient(this.socketPath);
  }

  /** Stops the service process (containers keep running under conmon unless removed first). */
  async stop(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const done = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const t = setTimeout(() => p.kill('SIGKILL'), 5_000);
    await done;
    clearTimeout(t);
  }

  /** Removes every container of this instance, then stops the service. */
  async shutdown(): Promise<void> {
    const c = this.client();
    try {
      for (const ctr of await c.listContainers({ all: true })) {
        await c.removeContainer(ctr.Id, { force: true, volumes: true }).catch(() => undefined);
      }
    } catch {
      // service already gone: nothing to remove through it
    }
    await this.stop();
  }
}
