import { existsSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { Agent } from '../../agent/agent.ts';
import { parseHostPort, parseHostPortList, parseLabel, type HostPort } from '../../agent/agent-config.ts';
import { DEFAULT_FAILURE_TIMEOUT_MS, DEFAULT_HEARTBEAT_INTERVAL_MS } from '../../agent/heartbeat.ts';
import { DEFAULT_NODE_API_PORT } from '../../node-api/server.ts';
import { gzipMBps } from '../../agent/gzip-speed.ts';
import { NodeService } from '../../agent/node-service.ts';
import { peerDialer } from '../../node-api/http-peer-client.ts';
import { loadKeyring } from '../../checkpoint/crypto/index.ts';
import { CheckpointStore } from '../../checkpoint/store/index.ts';
import { probeHostCapabilities } from '../../engine/capabilities.ts';
import { PodmanClient } from '../../engine/podman-client.ts';
import { loadTlsBundle } from '../../pki/index.ts';
import { roleFromOu } from '../../pki/roles.ts';
import { formatDuration, parseDuration } from '../../policy/duration.ts';
import { byteSize } from '../../util/byte-size.ts';
import { errorMessage, ValidationError } from '../../util/errors.ts';
import { createLogger } from '../../util/log.ts';
import { loopbackHostPort } from '../listen-flags.ts';

export const DEFAULT_PODMAN_SOCKET = '/run/podman/podman.sock';
export const DEFAULT_AGENT_PKI_DIR = '/var/lib/lifeboat/pki/agent';
export const DEFAULT_SPOOL_DIR = '/var/lib/lifeboat/spool';
export const DEFAULT_CGROUP_PARENT = '/lifeboat';

interface AgentFlags {
  name: string;
  address?: string;
  listen?: string;
  manager?: HostPort[];
  label?: Record<string, string>;
  podmanSocket: string;
  runroot?: string;
  graphroot?: string;
  cgroupParent: string;
  checkpointDir?: string;
  clusterKey?: string;
  previousClusterKey?: string[];
  pki: string;
  spoolDir: string;
  storeQuota?: number;
  storeReserve?: number;
  failureTimeout: number;
  heartbeatInterval: number;
  selfTest?: boolean;
  polled?: boolean;
  metricsListen?: string;
  healthChecks: 'agent' | 'podman';
  clusterNetwork?: boolean;
}

const HELP = `
What it does:
  Runs this host's agent next to its Podman. Managers drive the host through
  the node API (HTTPS, mutual TLS, manager certificates only): containers,
  checkpoints, restores, image moves. Every --heartbeat-interval the agent
  reports the host to the first --manager that accepts. If no manager accepts
  for --failure-timeout (minus a margin), the agent fences the host: it kills
  every container labelled lifeboat.reschedule, because the managers restore
  them elsewhere. When contact returns it removes the copies the cluster now
  runs on other hosts before it reports healthy again. With --polled (static
  discovery: \`lifeboat manage --discovery nodes://...\` lists this host) the
  managers pull the heartbeat instead, and a host no manager polls for
  --failure-timeout fences itself the same way.

Files:
  --pki DIR holds the agent's identity in the docker layout (ca.pem, cert.pem,
  key.pem 0600) or the prefix layout (ca.pem, agent.pem, agent-key.pem). The
  certificate must have role agent, the node's name as CN and --address as
  an IP SAN (src/pki/README.md shows how to issue one).
  --cluster-key FILE (0600) encrypts checkpoints in --checkpoint-dir; every
  agent and manager of the cluster uses the same key.

Example:
  lifeboat agent --name node1 --address 10.99.0.11 \\
    --manager 10.99.0.1:7440,10.99.0.2:7440 --label zone=a --label ssd=true \\
    --podman-socket /run/podman/podman.sock --pki /var/lib/lifeboat/pki/node1 \\
    --checkpoint-dir /mnt/gluster/lifeboat --cluster-key /etc/lifeboat/cluster.key

Stop it with SIGTERM or Ctrl-C. Logs go to stderr (LIFEBOAT_LOG_FORMAT=json
for JSON lines, LIFEBOAT_LOG_LEVEL=debug for more).`;

function collectLabel(value: string, previous: Record<string, string> | undefined): Record<string, string> {
  const [k, v] = parseLabel(value);
  return { ...previous, [k]: v };
}

function collectManagers(value: string, previous: HostPort[] | undefined): HostPort[] {
  return [...(previous ?? []), ...parseHostPortList(value, '--manager')];
}

/** The certificate must be an agent's: a manager's or client's would be refused by every manager anyway. */
function checkAgentCertificate(certPem: string, name: string, dir: string): void {
  const cert = new X509Certificate(certPem);
  const fields = cert.subject.split('\n');
  const ous = fields.filter((f) => f.startsWith('OU=')).map((f) => f.slice(3));
  const cn = fields.find((f) => f.startsWith('CN='))?.slice(3);
  const role = roleFromOu(ous);
  if (role !== 'agent') {
    throw new ValidationError(
      `the certificate in ${dir} has role ${role ?? 'none'}; the agent needs a certificate of role agent`,
      `issue a certificate of role agent named ${name} into ${dir} (see src/pki/README.md)`,
    );
  }
  if (cn !== name) {
    createLogger('agent').warn(
      'certificate name differs from --name: managers know this node by its certificate',
      {
        certificate: cn,
        name,
      },
    );
  }
}

export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description("run this host's agent: node API for managers, heartbeats, self-fencing")
    .option('--name <name>', 'node name (the CN of its certificate)', hostname())
    .option('--address <ip>', 'address managers and other hosts reach this host at')
    .option('--listen <ip:port>', `where the node API listens (default <address>:${DEFAULT_NODE_API_PORT})`)
    .option('--manager <host:port,...>', 'manager replicas, tried in turn (repeatable)', collectManagers)
    .option(
      '--polled',
      "no heartbeats: managers whose --discovery lists this host poll it (Swarm's static discovery); fencing counts their polls",
    )
    .option('--label <key=value>', 'node label for scheduling constraints (repeatable)', collectLabel)
    .option('--podman-socket <path>', "this host's Podman REST socket", DEFAULT_PODMAN_SOCKET)
    .option('--runroot <dir>', "Podman's run root (default: asked from Podman)")
    .option('--graphroot <dir>', "Podman's storage root (default: asked from Podman)")
    .option('--cgroup-parent <path>', 'cgroup parent of every container of this host', DEFAULT_CGROUP_PARENT)
    .option(
      '--checkpoint-dir <dir>',
      'shared checkpoint store (GlusterFS/NFS mount); omit on hosts without one',
    )
    .option('--cluster-key <file>', 'key that encrypts checkpoint archives (needed with --checkpoint-dir)')
    .option(
      '--previous-cluster-key <file>',
      'an older archive key, still accepted for reading during a key rotation (repeatable)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--pki <dir>', "directory with the agent's certificate, key and ca.pem", DEFAULT_AGENT_PKI_DIR)
    .option('--spool-dir <dir>', 'private directory for archives in transit', DEFAULT_SPOOL_DIR)
    .addOption(
      new Option(
        '--store-quota <size>',
        "bytes one container's checkpoint versions may take in --checkpoint-dir, e.g. 20g (default: no quota)",
      ).argParser((v: string) => byteSize(v, '--store-quota')),
    )
    .addOption(
      new Option(
        '--store-reserve <size>',
        "free space every checkpoint leaves on --checkpoint-dir's file system (default: 5% of it, at most 1g)",
      ).argParser((v: string) => byteSize(v, '--store-reserve')),
    )
    .addOption(
      new Option(
        '--failure-timeout <duration>',
        'how long managers wait for a heartbeat before declaring the host failed (their answer overrides it)',
      )
        .argParser((v: string) => parseDuration(v, '--failure-timeout'))
        .default(DEFAULT_FAILURE_TIMEOUT_MS, formatDuration(DEFAULT_FAILURE_TIMEOUT_MS)),
    )
    .addOption(
      new Option('--heartbeat-interval <duration>', 'time between heartbeats')
        .argParser((v: string) => parseDuration(v, '--heartbeat-interval'))
        .default(DEFAULT_HEARTBEAT_INTERVAL_MS, formatDuration(DEFAULT_HEARTBEAT_INTERVAL_MS)),
    )
    .option(
      '--metrics-listen <host:port>',
      'also serve /metrics, /healthz and /readyz over plain HTTP on loopback (managers scrape /v1/metrics over mTLS)',
    )
    .addOption(
      new Option(
        '--health-checks <who>',
        "who runs containers' health checks on their intervals: the agent (hosts without systemd, where Podman 4 runs none by itself) or podman (its systemd timers)",
      )
        .choices(['agent', 'podman'])
        .default('agent'),
    )
    .option(
      '--no-cluster-network',
      "leave this host's routes alone: no bridge and no routes for the cluster network (its containers cannot run here then)",
    )
    .option(
      '--self-test',
      'run the CRIU dump/restore self-test at start (slower; `lifeboat doctor` runs it too)',
    )
    .addHelpText('after', HELP)
    .action(async (flags: AgentFlags) => {
      await runAgent(flags);
    });
}

async function runAgent(flags: AgentFlags): Promise<void> {
  const log = createLogger(`agent/${flags.name}`);
  if (flags.address === undefined)
    throw new ValidationError('--address is required', 'give the IP address managers reach this host at');
  const managers = flags.manager ?? [];
  if (managers.length === 0 && !flags.polled)
    throw new ValidationError(
      '--manager or --polled is required',
      'give the manager replicas as HOST:PORT[,HOST:PORT], or --polled when managers list this host in --discovery',
    );
  if (flags.checkpointDir !== undefined && flags.clusterKey === undefined)
    throw new ValidationError(
      '--checkpoint-dir needs --cluster-key',
      'checkpoints are stored encrypted: point --cluster-key at the cluster key file (0600)',
    );
  const listen = parseHostPort(flags.listen ?? flags.address, '--listen', DEFAULT_NODE_API_PORT);

  const layout = existsSync(join(flags.pki, 'cert.pem')) ? 'docker' : { prefix: 'agent' };
  const tls = await loadTlsBundle(flags.pki, layout);
  checkAgentCertificate(tls.certPem, flags.name, flags.pki);

  const podman = new PodmanClient(flags.podmanSocket, { log: log.child('podman') });
  let runroot = flags.runroot;
  let graphroot = flags.graphroot;
  if (runroot === undefined || graphroot === undefined) {
    const info = await podman.info();
    const store = (info['store'] ?? {}) as { runRoot?: string; graphRoot?: string };
    runroot ??= store.runRoot;
    graphroot ??= store.graphRoot;
    if (runroot === undefined || graphroot === undefined)
      throw new ValidationError('Podman did not say where its storage is', 'pass --runroot and --graphroot');
  }
  const capabilities = await probeHostCapabilities({ selfTest: flags.selfTest === true });
  if (!capabilities.canCheckpoint)
    log.warn('this host cannot checkpoint containers: migrations and tickers from it will fail', {
      criu: capabilities.criu.check.detail,
      hint: 'run `lifeboat doctor`',
    });
  const store =
    flags.checkpointDir === undefined
      ? undefined
      : new CheckpointStore({
          root: flags.checkpointDir,
          keyring: await loadKeyring(flags.clusterKey!, flags.previousClusterKey ?? []),
          ...(flags.storeQuota !== undefined ? { quotaBytes: flags.storeQuota } : {}),
          ...(flags.storeReserve !== undefined ? { reserveBytes: flags.storeReserve } : {}),
        });

  const service = new NodeService({
    name: flags.name,
    address: flags.address,
    labels: flags.label ?? {},
    podman,
    hostPaths: { runroot, graphroot, cgroupParent: flags.cgroupParent },
    ...(store === undefined ? {} : { store }),
    spoolDir: flags.spoolDir,
    capabilities,
    peers: peerDialer(tls),
    clusterNetwork: flags.clusterNetwork !== false,
  });
  // measured now rather than in the first migration's prepare step
  gzipMBps();
  const agent = await Agent.start({
    service,
    tls,
    listen,
    managers,
    heartbeatIntervalMs: flags.heartbeatInterval,
    failureTimeoutMs: flags.failureTimeout,
    contactFile: join(flags.spoolDir, 'last-contact'),
    healthChecks: flags.healthChecks,
    ...(flags.metricsListen
      ? { metricsListen: loopbackHostPort(flags.metricsListen, '--metrics-listen') }
      : {}),
  });
  log.info('agent ready', {
    api: agent.url,
    heartbeatEvery: formatDuration(flags.heartbeatInterval),
    failureTimeout: formatDuration(flags.failureTimeout),
    store: flags.checkpointDir ?? '(none)',
  });
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info('stopping', { signal });
  try {
    await agent.stop();
  } catch (err) {
    log.error('stop failed', { error: errorMessage(err) });
    process.exitCode = 1;
  }
}
