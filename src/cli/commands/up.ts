import { join } from 'node:path';
import type { Command } from 'commander';
import { clusterDown, clusterUp } from '../../devcluster/cluster-up.ts';
import { readClusterState } from '../../devcluster/cluster-state.ts';
import { DEFAULT_CLUSTER_ROOT } from '../../devcluster/local-cluster.ts';
import { isAlive } from '../../devcluster/processes.ts';
import { formatProgress } from '../../devcluster/progress.ts';
import { parseDuration } from '../../policy/duration.ts';
import { ValidationError } from '../../util/errors.ts';
import { DEFAULT_CONTEXT, writeContext } from '../context.ts';
import { DEFAULT_DOCKER_SOCKET } from '../../api/docker/unix-socket.ts';

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new ValidationError(`--docker-port ${v}: give a port 1-65535`);
  return n;
}

export function registerUp(program: Command): void {
  program
    .command('up')
    .description(
      'bring up a complete local cluster on this machine (hosts in their own namespaces, agents, a manager)',
    )
    .option('--nodes <n>', 'number of hosts', '3')
    .option(
      '--storage <kind>',
      'shared checkpoint storage: dir (a directory) or gluster (a real GlusterFS replica-3 volume)',
      'dir',
    )
    .option('--root <dir>', 'where the cluster lives on disk', DEFAULT_CLUSTER_ROOT)
    .option('--failure-timeout <duration>', 'a host without heartbeat for this long is failed', '5s')
    .option(
      '--docker-socket <path>',
      "Docker-compatible endpoint on this unix socket (0660, root and the lifeboat group, as dockerd's)",
      DEFAULT_DOCKER_SOCKET,
    )
    .option(
      '--docker-port <port>',
      'serve the Docker endpoint on tcp://127.0.0.1:PORT instead of the socket (replicas take the next ports)',
    )
    .option(
      '--no-forward-ports',
      "don't make published ports reachable on 127.0.0.1 (they stay on their host's address, e.g. 10.99.0.11:6379)",
    )
    .option(
      '--store <kind>',
      'cluster store: embedded (one manager) or etcd (3 etcd members, replicated managers)',
      'embedded',
    )
    .option('--managers <n>', 'manager replicas with --store etcd', '2')
    .option(
      '--discovery <how>',
      "how hosts join: heartbeat (agents push), or Swarm's static nodes / file (managers poll a host list)",
      'heartbeat',
    )
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Every host gets its own network namespace (10.99.0.11, .12, ...), mount
namespace, Podman, cgroup and lifeboat agent; one manager runs beside them.
Then:  export DOCKER_HOST=unix://${DEFAULT_DOCKER_SOCKET}; docker run -d --name web -p 6379:6379 localhost/lifeboat/redis
Published ports are reachable on their host's address and, forwarded by the
manager, on 127.0.0.1 (redis-cli -p 6379), wherever the container moves.
Undo everything with \`lifeboat down\`.`,
    )
    .action(
      async (o: {
        nodes: string;
        storage: string;
        root: string;
        failureTimeout: string;
        dockerSocket: string;
        dockerPort?: string;
        forwardPorts: boolean;
        store: string;
        managers: string;
        discovery: string;
        json?: boolean;
      }) => {
        if (o.discovery !== 'heartbeat' && o.discovery !== 'nodes' && o.discovery !== 'file')
          throw new ValidationError(`--discovery ${o.discovery}: use heartbeat, nodes or file`);
        if (o.store !== 'embedded' && o.store !== 'etcd')
          throw new ValidationError(`--store ${o.store}: use embedded or etcd`);
        const nodes = Number(o.nodes);
        if (!Number.isInteger(nodes) || nodes < 1)
          throw new ValidationError(`--nodes ${o.nodes}: give a whole number >= 1`);
        if (o.storage !== 'dir' && o.storage !== 'gluster')
          throw new ValidationError(`--storage ${o.storage}: use dir or gluster`);
        const progress = o.json
          ? undefined
          : (step: string, d: Parameters<typeof formatProgress>[1]): void =>
              void process.stderr.write(formatProgress(step, d) + '\n');
        // a cluster whose processes all died (a crash, kill -9, a reboot) is cleared, as `down` would
        const crashed = crashedCluster(o.root);
        if (crashed) {
          process.stderr.write(`${crashed}: removing what is left of it first\n`);
          await clusterDown(o.root, progress);
        }
        const r = await clusterUp({
          nodes,
          storage: o.storage,
          root: o.root,
          failureTimeoutMs: parseDuration(o.failureTimeout, '--failure-timeout'),
          ...(o.dockerPort !== undefined
            ? { dockerPort: port(o.dockerPort) }
            : { dockerSocket: o.dockerSocket }),
          forwardPorts: o.forwardPorts,
          store: o.store,
          managers: Number(o.managers),
          discovery: o.discovery,
          ...(progress ? { onProgress: progress } : {}),
        });
        writeContext({
          managerUrl: r.managerUrl,
          managerUrls: r.managers.map((m) => m.url),
          pkiDir: r.pkiDir,
          dockerHost: r.dockerHost,
          clusterRoot: r.clusterRoot,
        });
        if (o.json) {
          process.stdout.write(JSON.stringify(r, null, 2) + '\n');
          return;
        }
        process.stdout.write(
          [
            `lifeboat cluster up in ${(r.ms / 1000).toFixed(1)} s: ${r.hosts.map((h) => `${h.name} (${h.address})`).join(', ')}`,
            `manager API: ${r.managerUrl} (client certificate in ${r.pkiDir}; context ${DEFAULT_CONTEXT})`,
            '',
            'Point docker at the cluster:',
            `  export DOCKER_HOST=${r.dockerHost}`,
            '  docker run -d --name cache -p 6379:6379 -l lifeboat.checkpoint.interval=10s -l lifeboat.reschedule=checkpoint localhost/lifeboat/redis',
            '  lifeboat migrate cache',
            o.forwardPorts
              ? "Published ports are forwarded from 127.0.0.1 to the container's current host (redis-cli -p 6379)."
              : "Published ports are on their host's address (docker port cache).",
            '',
          ].join('\n'),
        );
      },
    );

  program
    .command('down')
    .description(
      'remove the local cluster: processes, namespaces, links, mounts, cgroups, volumes, files (safe to repeat)',
    )
    .option('--root <dir>', 'where the cluster lives on disk', DEFAULT_CLUSTER_ROOT)
    .action(async (o: { root: string }) => {
      const r = await clusterDown(o.root, (step, d) => process.stderr.write(formatProgress(step, d) + '\n'));
      process.stdout.write(`removed ${r.removed.length} things in ${(r.ms / 1000).toFixed(1)} s\n`);
    });
}

/**
 * Why the cluster recorded at `root` counts as crashed (no process it
 * recorded is alive, or its hosts are left without a record), or undefined
 * when nothing is recorded or it still runs: a running cluster is never
 * replaced behind its user's back.
 */
function crashedCluster(root: string): string | undefined {
  let st;
  try {
    st = readClusterState(join(root, 'state.json'));
  } catch {
    return `an unreadable cluster record at ${root}`;
  }
  if (!st) return undefined;
  const pids = [...st.processes.map((p) => p.pid), ...st.hosts.flatMap((h) => h.processes.map((p) => p.pid))];
  if (pids.some(isAlive)) return undefined;
  return `the local cluster at ${root} is recorded but none of its ${pids.length} processes runs`;
}
