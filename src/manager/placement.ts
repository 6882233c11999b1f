import { extractSchedulingFromRequest, Scheduler, type ContainerRequest } from '../scheduler/index.ts';
import { CLUSTER_NETWORK, clusterAddressOf } from '../network/cluster-network.ts';
import type { AddressPool } from '../network/address-pool.ts';
import type { ContainerCreateSpec } from '../engine/types.ts';
import { restorePolicyOf, tickerConfigOf } from '../policy/labels.ts';
import { NameConflictError } from '../api/docker/errors.ts';
import { LifeboatError, ValidationError } from '../util/errors.ts';
import { hostBinds, isShared } from './move-blocker.ts';
import { parseEnv } from '../api/docker/podman-mapping.ts';
import type { ClusterState } from './cluster-state.ts';
import type { EventLog } from './events.ts';
import type { NodeDirectory } from './node-directory.ts';
import { ensureImage } from './images.ts';
import { hasNeeds, needsOf, type LocalResources } from './local-resources.ts';
import type { ContainerRecord } from './records.ts';
import { requestFor, toSchedNode } from './sched-view.ts';

/** Env entries that are lifeboat's knobs (`lifeboat.checkpoint.interval=30s`) become labels. */
export function liftPolicyEnv(
  env: string[],
  labels: Record<string, string>,
): { env: string[]; labels: Record<string, string> } {
  const out: string[] = [];
  const lifted = { ...labels };
  for (const e of env) {
    const m = /^(lifeboat\.[a-z.-]+)=(.*)$/.exec(e);
    if (m?.[1] !== undefined) lifted[m[1]] = m[2] ?? '';
    else out.push(e);
  }
  return { env: out, labels: lifted };
}

export interface PlacementDeps {
  state: ClusterState;
  nodes: NodeDirectory;
  scheduler: Scheduler;
  events: EventLog;
  /** Networks and volumes: a container that uses them goes to their host (absent: none are honoured). */
  resources?: LocalResources;
  /** Host paths every host shares (`lifeboat manage --shared-path`). */
  sharedPaths?: string[];
  /** The cluster network's addresses (absent: the cluster network is not available). */
  addresses?: AddressPool;
}

/**
 * Creates a container somewhere in the cluster: Swarm filters from env and
 * labels, a strategy, a cluster-unique name, then the create on the chosen
 * host. Returns the record; the container is created, not started.
 */
export async function createInCluster(
  deps: PlacementDeps,
  input: {
    name: string;
    image: string;
    env: string[];
    labels: Record<string, string>;
    rest: Omit<ContainerCreateSpec, 'name' | 'image' | 'env' | 'labels'>;
  },
  extra: Pick<ContainerRequest, 'links' | 'volumesFrom' | 'networkMode'> = { links: [], volumesFrom: [] },
  /** Creates it on the chosen host (default: the host's NodeClient.create with the spec). */
  create?: (
    node: string,
    scheduled: { env: string[]; labels: Record<string, string>; spec: ContainerCreateSpec },
  ) => Promise<string>,
): Promise<{ record: ContainerRecord; id: string; why: string }> {
  const t0 = performance.now();
  const lifted = liftPolicyEnv(input.env, input.labels);
  const req: ContainerRequest = {
    ...requestFor({ name: input.name, image: input.image, env: {}, labels: lifted.labels, ...input.rest }),
    env: lifted.env,
    ...extra,
  };
  const scheduling = extractSchedulingFromRequest(req);
  const ticker = tickerConfigOf(scheduling.labels);
  const restorePolicy = restorePolicyOf(scheduling.labels);
  if (restorePolicy === 'checkpoint') {
    const pinned = hostBinds(input.rest).filter((p) => !isShared(p, deps.sharedPaths ?? []));
    if (pinned.length)
      throw new ValidationError(
        `a container restored from its checkpoints on another host (lifeboat.reschedule=checkpoint) cannot bind-mount a host path: ${pinned.join(', ')} would be another directory, or none, on the host it comes back on`,
        'use a named volume (-v NAME:/path; its data travels in the checkpoint), or declare the path shared storage every host mounts (lifeboat manage --shared-path DIR)',
      );
  }
  const healthy = await deps.nodes.healthy();
  const existing = (await deps.state.container(input.name))?.record;
  if (existing) throw new NameConflictError(input.name, existing.id ?? '', existing.node);
  const needs = needsOf(input.rest);
  if (hasNeeds(needs) && !deps.resources)
    throw new LifeboatError('not_supported', 'networks and volumes are not available on this endpoint', {
      status: 501,
    });
  const pin = deps.resources && hasNeeds(needs) ? await deps.resources.pin(needs) : { why: [] };
  const candidates = deps.resources ? deps.resources.filter(healthy, pin) : healthy;
  const placement = deps.scheduler.schedule(
    { ...req, env: lifted.env },
    candidates.map((n) => toSchedNode(n, true)),
  );
  const node = placement.node.name;
  // the decision alone: reading the hosts, the name check, pins and the scheduler (not the host's create)
  const decisionMs = Math.round((performance.now() - t0) * 10) / 10;
  const spec: ContainerCreateSpec = {
    ...input.rest,
    name: input.name,
    image: input.image,
    env: parseEnv(scheduling.env),
    labels: scheduling.labels,
  };
  if (needs.cluster) {
    if (!deps.addresses)
      throw new LifeboatError(
        'not_supported',
        `the ${CLUSTER_NETWORK} network is not available on this endpoint`,
        {
          status: 501,
        },
      );
    // an address of its own across the cluster, kept with the record: it follows the container
    const ep = spec.networks?.[CLUSTER_NETWORK] ?? {};
    const address = await deps.addresses.take(input.name, clusterAddressOf(spec));
    spec.networks = {
      ...spec.networks,
      [CLUSTER_NETWORK]: {
        ...ep,
        staticIps: [address, ...(ep.staticIps ?? []).filter((ip) => !ip.includes('.'))],
      },
    };
  }
  const record: ContainerRecord = {
    name: input.name,
    node,
    generation: 1,
    spec,
    ...(restorePolicy ? { restorePolicy } : {}),
    ...(ticker ? { ticker } : {}),
    phase: 'stopped',
    updatedAt: new Date().toISOString(),
  };
  if (!(await deps.state.createContainer(record))) {
    const ip = clusterAddressOf(spec);
    if (ip) await deps.addresses?.release(ip, input.name);
    const other = (await deps.state.container(input.name))?.record;
    throw new NameConflictError(input.name, other?.id ?? '', other?.node);
  }
  let id: string;
  try {
    if (deps.resources && hasNeeds(needs)) {
      const volumeLabels = Object.fromEntries(
        (input.rest.volumes ?? []).map((v) => [v.name, v.labels ?? {}]),
      );
      await deps.resources.claim(needs, node, { volumeLabels });
      await deps.resources.ensureOn(node, needs);
    }
    const client = deps.nodes.client(node);
    await ensureImage(
      deps.nodes,
      client,
      { ref: input.image },
      (await deps.nodes.healthy()).map((n) => deps.nodes.client(n.report.name)),
    );
    id = create
      ? await create(node, { env: scheduling.env, labels: scheduling.labels, spec })
      : await client.create(spec);
  } catch (err) {
    await deps.state.deleteContainer(input.name);
    throw err;
  }
  await deps.state.updateContainer(input.name, (r) => ({ ...r, id }));
  record.id = id;
  const why =
    (pin.node ? `${pin.why.join(', ')} on ${pin.node}→[${node}] ` : '') +
    placement.trace.map((t) => `${t.filter}→[${t.remaining.join(',')}]`).join(' ');
  deps.events.emit('container.create', `placed ${input.name} on ${node}: ${why}`, {
    container: input.name,
    node,
    fields: {
      candidates: placement.candidates.join(','),
      ticker: ticker ? `${ticker.intervalMs}ms/VG${ticker.versionGroup}` : undefined,
      restorePolicy,
      decisionMs,
    },
  });
  return { record, id, why };
}
