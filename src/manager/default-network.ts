import type { DockerContainerCreateBody } from '../api/docker/types.ts';
import { CLUSTER_NETWORK } from '../network/cluster-network.ts';
import { restorePolicyOf, tickerConfigOf } from '../policy/labels.ts';
import { liftPolicyEnv } from './placement.ts';

/**
 * Which network a container joins when its create names none. A container
 * that keeps its state across hosts (a checkpoint ticker, or restored from
 * its checkpoints when its host fails) joins the cluster network: its address
 * is the cluster's and follows it, so its clients' connections survive a move
 * and find it again after a failover. Anything else stays on its host's
 * default network, as with Docker.
 *
 * The opt-out is Docker's own: `--network bridge` (or any network by name)
 * keeps the container where the user put it. Legacy links only exist on the
 * host's default network, so a container with links stays there too.
 */
export interface DefaultNetworkChoice {
  body: DockerContainerCreateBody;
  /** Why the container joins the cluster network (absent: the body is unchanged). */
  why?: string;
}

export function withDefaultNetwork(
  body: DockerContainerCreateBody,
  clusterNetworkAvailable: boolean,
): DefaultNetworkChoice {
  if (!clusterNetworkAvailable || body.NetworkDisabled) return { body };
  const hc = body.HostConfig ?? {};
  const mode = hc.NetworkMode ?? '';
  // 'default' is what the docker CLI sends without --network; 'bridge' is the user's choice
  if (mode !== '' && mode !== 'default') return { body };
  if (Object.keys(body.NetworkingConfig?.EndpointsConfig ?? {}).length) return { body };
  if ((hc.Links ?? []).length) return { body };
  const { labels } = liftPolicyEnv(body.Env ?? [], body.Labels ?? {});
  const reasons: string[] = [];
  if (restorePolicyOf(labels) === 'checkpoint') reasons.push('it is restored from its checkpoints');
  if (tickerConfigOf(labels)) reasons.push('it has a checkpoint ticker');
  if (!reasons.length) return { body };
  return {
    body: {
      ...body,
      HostConfig: { ...hc, NetworkMode: CLUSTER_NETWORK },
      NetworkingConfig: { EndpointsConfig: { [CLUSTER_NETWORK]: {} } },
    },
    why: `joins the cluster network ${CLUSTER_NETWORK} by default: ${reasons.join(' and ')}, so its address follows it across hosts (--network bridge keeps it on its host's network)`,
  };
}
