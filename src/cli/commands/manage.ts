import { Option, type Command } from 'commander';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { generateClusterKey, loadKeyring } from '../../checkpoint/crypto/index.ts';
import { loadClusterCa, loadTlsBundle } from '../../pki/index.ts';
import { formatDuration, parseDuration } from '../../policy/duration.ts';
import { openStore } from '../../store/index.ts';
import { Manager } from '../../manager/manager.ts';
import { DEFAULT_CLUSTER_SUBNET, clusterSubnet } from '../../network/cluster-network.ts';
import { parseDiscovery } from '../../manager/discovery.ts';
import { DEFAULT_DOCKER_SOCKET } from '../../api/docker/unix-socket.ts';
import { ValidationError } from '../../util/errors.ts';
import { createLogger } from '../../util/log.ts';
import { hostPort, LOOPBACK, loopbackHostPort } from '../listen-flags.ts';
import { DEFAULT_CLUSTER_KEY_PATH } from './cert.ts';

/** Where releases before 0.2 made the manager's key when none was given; still read when it is there. */
const LEGACY_CLUSTER_KEY = '/var/lib/lifeboat/cluster.key';

/** `--docker`: unix:///path, or [tcp://]HOST:PORT on loopback. */
export function dockerEndpoint(v: string): { socketPath: string } | { host: string; port: number } {
  if (v.startsWith('unix://')) {
    const socketPath = v.slice('unix://'.length);
    if (!socketPath.startsWith('/'))
      throw new ValidationError(
        `--docker ${v}: a unix socket needs an absolute path (unix:///run/lifeboat/docker.sock)`,
      );
    return { socketPath };
  }
  const hp = hostPort(v.replace(/^tcp:\/\//, ''), '--docker');
  if (!LOOPBACK.test(hp.host))
    throw new ValidationError(
      `--docker ${v}: the Docker endpoint without TLS listens on loopback only`,
      'use unix:///run/lifeboat/docker.sock (the default) or tcp://127.0.0.1:PORT; remote clients go through TLS (--docker-tls, see docs/security.md)',
    );
  return hp;
}

export function registerManage(program: Command): void {
  program
    .command('manage')
    .description(
      'run a cluster manager: Docker-compatible endpoint, lifeboat API, heartbeats, failure detection',
    )
    .option('--name <name>', 'this manager (unique among replicas)', hostname())
    .option('--listen <host:port>', 'lifeboat API and agent heartbeats (HTTPS, mutual TLS)', '0.0.0.0:7440')
    .option(
      '--advertise <host>',
      'address agents and replicas reach this manager at (default: the --listen host)',
    )
    .option(
      '--docker <address>',
      'Docker-compatible endpoint: unix:///path (0660, root and the lifeboat group, as dockerd), or tcp://127.0.0.1:PORT (plain HTTP: loopback only)',
      `unix://${DEFAULT_DOCKER_SOCKET}`,
    )
    .option(
      '--metrics-listen <host:port>',
      'also serve /metrics, /healthz and /readyz in plain HTTP here (loopback only; the manager API serves them over mutual TLS under /lifeboat/v1/)',
    )
    .option(
      '--forward-ports <host>',
      "also listen on this address (e.g. 127.0.0.1) for every published port of the cluster, relaying to the container's current host",
    )
    .option(
      '--store <url>',
      'cluster store: embedded:///path/state.json or etcd://h1:p1,h2:p2/prefix',
      'embedded:///var/lib/lifeboat/manager/state.json',
    )
    .option(
      '--docker-tls <host:port>',
      'also serve the Docker endpoint over mutual TLS here (docker --tlsverify; server cert from --pki)',
    )
    .option('--replication', 'take part in leader election with other managers on the same etcd store')
    .option(
      '--etcd-pki <dir>',
      "mutual TLS to etcd: ca.pem (etcd's CA), cert.pem and key.pem (this manager's etcd client certificate)",
    )
    .option(
      '--pki <dir>',
      'manager certificate, key and the cluster CA (ca.pem, cert.pem, key.pem)',
      '/var/lib/lifeboat/pki/manager',
    )
    .option(
      '--ca <dir>',
      'the cluster CA with its key (ca.pem, ca-key.pem): this manager then signs the certificates of hosts that `lifeboat join`',
    )
    .option(
      '--docker-checkpoint-dir <dir>',
      'archives of `docker checkpoint create`',
      '/var/lib/lifeboat/manager/docker-checkpoints',
    )
    .option(
      '--discovery <url>',
      'static host list, polled by this manager (agents then run without --manager): nodes://HOST:PORT,... or file:///PATH',
    )
    .option(
      '--cluster-key <file>',
      `key that encrypts \`docker checkpoint create\` archives, the one \`lifeboat init\` and \`join\` write (created, 0600, when the default is absent)`,
      DEFAULT_CLUSTER_KEY_PATH,
    )
    .option(
      '--previous-cluster-key <file>',
      'an older archive key, still accepted for reading during a key rotation (repeatable)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option('--strategy <name>', 'placement strategy: spread, binpack or random', 'spread')
    .option(
      '--cluster-subnet <cidr>',
      'the cluster network (docker run --network lifeboat): one subnet over every host, addresses that follow their containers (docs/cluster-network.md); kept once recorded',
      DEFAULT_CLUSTER_SUBNET,
    )
    .option(
      '--cluster-routes',
      "also route every cluster-network address from this manager's own host (the machine running a local cluster, or a gateway)",
    )
    .option(
      '--shared-path <dir>',
      'storage every host mounts at this path (GlusterFS, NFS): a bind mount below it moves with its container (repeatable)',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .addOption(
      new Option(
        '--transfer-compression <how>',
        'compression of migration streams between agents: none, gzip (level 1) or auto (gzip when the measured link is slower than the source compresses)',
      )
        .choices(['none', 'gzip', 'auto'])
        .default('none'),
    )
    .addOption(
      new Option(
        '--failure-timeout <duration>',
        'a host without heartbeat for this long is failed; its containers are restored elsewhere',
      )
        .argParser((v: string) => parseDuration(v, '--failure-timeout'))
        .default(5000, formatDuration(5000)),
    )
    .addHelpText(
      'after',
      `
Examples:
  lifeboat manage --listen 10.0.0.1:7440 --store embedded:///var/lib/lifeboat/manager/state.json
  lifeboat manage --replication --store etcd://10.0.0.1:2379,10.0.0.2:2379/lifeboat --name m2
  lifeboat manage --discovery nodes://10.0.0.[11:13]:7443   # poll three agents (Swarm's static discovery)
  lifeboat manage --discovery file:///etc/lifeboat/hosts    # one HOST:PORT per line, re-read every second
Then point the docker CLI at it: DOCKER_HOST=tcp://127.0.0.1:2375 docker ps`,
    )
    .action(
      async (f: {
        name: string;
        listen: string;
        advertise?: string;
        docker: string;
        forwardPorts?: string;
        metricsListen?: string;
        store: string;
        replication?: boolean;
        dockerTls?: string;
        pki: string;
        ca?: string;
        dockerCheckpointDir: string;
        strategy: string;
        transferCompression: 'none' | 'gzip' | 'auto';
        sharedPath?: string[];
        failureTimeout: number;
        discovery?: string;
        clusterKey: string;
        previousClusterKey?: string[];
        etcdPki?: string;
        clusterSubnet: string;
        clusterRoutes?: boolean;
      }) => {
        const discovery = f.discovery === undefined ? undefined : parseDiscovery(f.discovery);
        const log = createLogger(`manager/${f.name}`);
        const docker = dockerEndpoint(f.docker);
        if (f.forwardPorts !== undefined && !LOOPBACK.test(f.forwardPorts))
          throw new ValidationError(
            `--forward-ports ${f.forwardPorts}: forwarded ports listen on loopback only`,
            'clients elsewhere reach a published port on its host (docker port NAME shows the address)',
          );
        if (f.replication && !f.store.startsWith('etcd://')) {
          throw new ValidationError(
            '--replication needs an etcd store',
            'pass --store etcd://HOST:PORT[,HOST:PORT]/PREFIX',
          );
        }
        if (
          f.clusterKey === DEFAULT_CLUSTER_KEY_PATH &&
          !existsSync(f.clusterKey) &&
          existsSync(LEGACY_CLUSTER_KEY)
        ) {
          log.warn('using the archive key where older releases made it', {
            path: LEGACY_CLUSTER_KEY,
            hint: `move it to ${DEFAULT_CLUSTER_KEY_PATH}, where init and join put the cluster's key, or pass --cluster-key`,
          });
          f.clusterKey = LEGACY_CLUSTER_KEY;
        }
        if (f.clusterKey === DEFAULT_CLUSTER_KEY_PATH && !existsSync(f.clusterKey)) {
          const key = await generateClusterKey(f.clusterKey);
          log.warn('generated a new cluster key: give every manager and agent of this cluster the same one', {
            path: f.clusterKey,
            keyId: key.id,
          });
        }
        const clusterKey = await loadKeyring(f.clusterKey, f.previousClusterKey ?? []);
        if (f.etcdPki && !f.store.startsWith('etcd://'))
          throw new ValidationError('--etcd-pki needs an etcd store', 'pass --store etcd://HOST:PORT/PREFIX');
        const store = await openStore(f.store, f.etcdPki ? { tls: await loadTlsBundle(f.etcdPki) } : {});
        const tls = await loadTlsBundle(f.pki);
        const listen = hostPort(f.listen, '--listen');
        const m = await Manager.start({
          name: f.name,
          store,
          listen,
          ...(f.advertise ? { advertise: f.advertise } : {}),
          tls,
          ...(f.ca ? { ca: await loadClusterCa(f.ca) } : {}),
          docker,
          ...(f.dockerTls ? { dockerTls: { ...hostPort(f.dockerTls, '--docker-tls'), tls } } : {}),
          failureTimeoutMs: f.failureTimeout,
          dockerCheckpointDir: f.dockerCheckpointDir,
          clusterKey,
          strategy: f.strategy,
          transferCompression: f.transferCompression,
          clusterNetwork: { subnet: clusterSubnet(f.clusterSubnet).cidr, routes: f.clusterRoutes === true },
          ...(f.sharedPath?.length ? { sharedPaths: f.sharedPath.map(absoluteDir) } : {}),
          ...(discovery ? { discovery } : {}),
          ...(f.forwardPorts ? { forwardPorts: f.forwardPorts } : {}),
          ...(f.metricsListen
            ? { metricsListen: loopbackHostPort(f.metricsListen, '--metrics-listen') }
            : {}),
        });
        log.info('manager started', { api: m.apiUrl, docker: m.dockerUrl, store: f.store });
        await new Promise<void>((resolve) => {
          const stop = (): void => resolve();
          process.once('SIGTERM', stop);
          process.once('SIGINT', stop);
        });
        await m.stop();
        await store.close();
      },
    );
}

/** A --shared-path: an absolute directory. */
function absoluteDir(p: string): string {
  if (!p.startsWith('/') || p.split('/').includes('..'))
    throw new ValidationError(`--shared-path ${p}: give an absolute directory without ".."`);
  return p;
}
