import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { promisify } from 'node:util';
import { LocalCluster, type LocalClusterConfig } from '../../src/devcluster/local-cluster.ts';
import type { LocalHost } from '../../src/devcluster/local-host.ts';
import { NS_DIR } from '../../src/devcluster/mount-namespace.ts';
import { formatProgress, type ProgressDetail } from '../../src/devcluster/progress.ts';

/**
 * Shared pieces of the devcluster tests. Each test file gets its own root,
 * bridge, subnet and host name prefix, none of them lifeboat's defaults, so
 * the tests never touch a cluster a user runs (lifeboat0, 10.99.0.0/24, node*).
 */
export type TestConfig = Required<Pick<LocalClusterConfig, 'root' | 'bridge' | 'subnet' | 'namePrefix'>> & {
  glusterVolume?: string;
};

export function testConfig(tag: string, subnetOctet: number): TestConfig {
  return {
    root: `/var/tmp/lbdc-${tag}`,
    bridge: `lbdc${tag}`,
    subnet: `10.97.${subnetOctet}.0/24`,
    namePrefix: `dc${tag}`,
    glusterVolume: `lbdc-${tag}`,
  };
}

export interface ProgressEvent extends ProgressDetail {
  step: string;
}

/** A LocalCluster on the test config; progress lands in `events` (and on stderr with LIFEBOAT_TEST_VERBOSE). */
export function testCluster(cfg: TestConfig, events: ProgressEvent[] = []): LocalCluster {
  return new LocalCluster({
    ...cfg,
    onProgress: (step, d) => {
      events.push({ step, ...d });
      if (process.env['LIFEBOAT_TEST_VERBOSE']) process.stderr.write(formatProgress(step, d) + '\n');
    },
  });
}

/**
 * Everything of the test cluster still on the machine, looked up the way an
 * operator would: /run/netns, /sys/class/net, /proc/self/mountinfo,
 * /sys/fs/cgroup/<each hierarchy>, `ps`, the root directory.
 */
export function leftovers(cfg: TestConfig): string[] {
  const out: string[] = [];
  const host = new RegExp(`^${cfg.namePrefix}\\d+$`);
  const list = (d: string): string[] => (existsSync(d) ? readdirSync(d) : []);
  for (const n of list('/run/netns'))
    if (n.startsWith('lb-') && host.test(n.slice(3))) out.push(`netns ${n}`);
  for (const n of list('/sys/class/net')) {
    if (n === cfg.bridge) out.push(`bridge ${n}`);
    if (n.startsWith('lbv') && host.test(n.slice(3))) out.push(`veth ${n}`);
  }
  for (const n of list(NS_DIR)) if (host.test(n.replace(/\.mnt$/, ''))) out.push(`ns file ${NS_DIR}/${n}`);
  for (const l of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = l.split(' ')[4] ?? '';
    if (mp === cfg.root || mp.startsWith(cfg.root + '/')) out.push(`mount ${mp}`);
    if (mp.startsWith(NS_DIR + '/') && host.test(mp.slice(NS_DIR.length + 1).replace(/\.mnt$/, '')))
      out.push(`mount ${mp}`);
  }
  for (const h of list('/sys/fs/cgroup')) {
    for (const n of list(`/sys/fs/cgroup/${h}`)) {
      if (n.startsWith(`lifeboat_${cfg.namePrefix}`)) out.push(`cgroup /sys/fs/cgroup/${h}/${n}`);
    }
  }
  const ps = execFileSync('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' });
  for (const line of ps.split('\n')) {
    const [pid, stat, ...args] = line.trim().split(/\s+/);
    if (!pid || stat?.startsWith('Z') || Number(pid) === process.pid) continue;
    const cmd = args.join(' ');
    if (cmd.includes(cfg.root + '/') && !cmd.startsWith('ps '))
      out.push(`process ${pid} ${cmd.slice(0, 100)}`);
  }
  if (existsSync(cfg.root)) out.push(`directory ${cfg.root} (${readdirSync(cfg.root).join(', ')})`);
  return out;
}

/** Whether a TCP connection to host:port opens within `timeoutMs`. */
export function tcpConnects(host: string, port: number, timeoutMs = 1_500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export async function httpGet(url: string, timeoutMs = 3_000): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  return (await res.text()).trim();
}

/** Polls until `fn` returns true or the deadline passes; returns the last answer. */
export async function eventually(fn: () => Promise<boolean>, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    if (await fn()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 200));
  }
}

const execFileP = promisify(execFile);

/** Runs a command inside a host (its network and mount namespaces), from the root namespace. */
export async function inHost(host: LocalHost, cmd: string, args: string[]): Promise<string> {
  const { stdout } = await execFileP('nsenter', [...host.nsenterArgs(), cmd, ...args], { timeout: 30_000 });
  return stdout;
}

export const BUSYBOX = 'localhost/lifeboat/busybox:latest';

/** A busybox httpd answering `text` on containerPort 80, published on the host's `hostPort`. */
export async function startWebContainer(
  host: LocalHost,
  name: string,
  hostPort: number,
  text: string,
): Promise<void> {
  await host.podman.createContainer({
    name,
    image: BUSYBOX,
    command: ['sh', '-c', `echo ${text} > /tmp/index.html; exec httpd -f -p 80 -h /tmp`],
    cgroupParent: host.cgroupParent,
    portMappings: [{ containerPort: 80, hostPort }],
  });
  await host.podman.startContainer(name);
  // a started container is not yet a listening httpd: callers fetch from it right away
  if (!(await eventually(() => tcpConnects(host.address, hostPort, 500))))
    throw new Error(`${name} on ${host.name} does not accept connections on ${host.address}:${hostPort}`);
}
