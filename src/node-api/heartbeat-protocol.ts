import { isIP } from 'node:net';
import type { ClusterNetworkPlan } from '../network/cluster-network.ts';
import { parseSubnet } from '../network/subnet.ts';
import { z } from 'zod';
import { ValidationError } from '../util/errors.ts';
import { parseBody } from '../util/schema.ts';
import type { FenceState } from '../agent/fencing.ts';
import type { NodeReport } from './node-client.ts';

/**
 * The heartbeat contract between agents and managers.
 *
 *   POST https://<manager>/lifeboat/v1/heartbeat      (mutual TLS)
 *   client certificate: role agent, CN = node name    server certificate: role manager
 *   body: HeartbeatRequest (JSON)  ->  200 HeartbeatResponse (JSON)
 *
 * Any manager replica accepts (the leader is not needed for liveness). Only
 * a 2xx answer with `accepted: true` counts as contact; any other status, a
 * malformed body, a timeout or a TLS failure sends the agent on to the next
 * configured manager. An agent without contact for `failureTimeoutMs` minus
 * a margin fences itself (stops its restore-policy containers) because by
 * then the managers restore them elsewhere.
 */
export const HEARTBEAT_PATH = '/lifeboat/v1/heartbeat';
/** Static discovery: on the agent's node API, managers GET the heartbeat here and POST their answer to `.../answer`. */
export const PULL_HEARTBEAT_PATH = '/v1/heartbeat';
export const HEARTBEAT_PROTOCOL = 1;

export interface HeartbeatRequest {
  protocol: typeof HEARTBEAT_PROTOCOL;
  /** The host as NodeService.report() sees it: labels, resources, containers, images, capabilities. */
  report: NodeReport;
  /** Where managers reach this agent's node API, e.g. `https://10.99.0.11:7443`. */
  apiUrl: string;
  /** Random per agent start: a new value means the agent (maybe the whole host) restarted. */
  bootId: string;
  /** 1, 2, 3 ... within one boot: lets a replica ignore a late, reordered beat. */
  sequence: number;
  /**
   * `connected`: healthy, may be scheduled on. `fenced`: cut off, its
   * restore-policy containers stopped. `reconciling`: back in contact,
   * removing copies the cluster runs elsewhere; healthy only afterwards.
   */
  state: FenceState;
  /**
   * Containers stopped on this host when it fenced (by the agent or its fence
   * guard), until a manager has heard of them; may come in any state.
   */
  fenced: string[];
  /** The agent's clock (ISO 8601): for logs, never for timeouts. */
  sentAt: string;
}

export interface HeartbeatResponse {
  accepted: true;
  /** The current leader's address, when the answering replica knows it (informational). */
  leader?: string;
  /** How long the managers wait without a heartbeat before declaring this node failed. */
  failureTimeoutMs: number;
  /**
   * Container names this host lists that the cluster runs on other hosts
   * (restored there while this host was cut off, or stale after a reboot):
   * the agent removes them.
   */
  elsewhere: string[];
  /** The cluster network: its subnet, gateway and bridge, and the routes to the other hosts' containers. */
  clusterNetwork?: ClusterNetworkPlan;
  /** Serials of revoked certificates (`lifeboat node rm`, `cert revoke`): the node API refuses them too. */
  revoked?: string[];
}

export const MIN_FAILURE_TIMEOUT_MS = 100;
export const MAX_FAILURE_TIMEOUT_MS = 3_600_000;

/*
 * The two bodies, declared once (src/util/schema.ts): the manager's and the
 * agent's checks, and the OpenAPI document's schemas, come from these. The
 * protocol is versioned (`protocol`), so a field a newer peer adds is
 * dropped, not refused: refusing a heartbeat would fence a healthy host.
 * The report keeps every field it has (its containers are Podman's list
 * entries, which the manager passes on).
 */
const labels = z.record(z.string(), z.string());

const ReportSchema = z.looseObject({
  name: z.string(),
  address: z.string(),
  labels,
  cpus: z.number(),
  memoryBytes: z.number(),
  capabilities: z.looseObject({}),
  containers: z.array(
    z.looseObject({
      Id: z.string(),
      State: z.string(),
      Names: z.array(z.string()),
      Labels: labels.nullable().optional(),
    }),
  ),
  images: z.array(z.looseObject({ id: z.string(), names: z.array(z.string()) })),
});

export const HeartbeatRequestBody = z.object({
  protocol: z.literal(HEARTBEAT_PROTOCOL),
  report: ReportSchema.describe('the host as NodeService.report() sees it'),
  apiUrl: z
    .string()
    .regex(/^https:\/\/\S+$/, { error: 'must be an https:// URL' })
    .describe("where managers reach this agent's node API"),
  bootId: z.string().describe('random per agent start'),
  sequence: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).describe('1, 2, 3 ... within one boot'),
  state: z.enum(['connected', 'fenced', 'reconciling']),
  fenced: z.array(z.string()).default([]),
  sentAt: z.string().describe("the agent's clock (ISO 8601), for logs"),
});

const ipv4 = z.string().refine((v) => isIP(v) === 4, { error: 'expected an IPv4 address' });
const hostName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/, { error: 'expected a DNS name' });

const ClusterNetworkPlanSchema = z.object({
  subnet: z.string().refine(
    (v) => {
      try {
        parseSubnet(v);
        return true;
      } catch {
        return false;
      }
    },
    { error: 'expected an IPv4 subnet (a.b.c.d/n)' },
  ),
  gateway: ipv4,
  bridge: z.string().regex(/^[a-zA-Z0-9_.-]{1,15}$/, { error: 'expected an interface name' }),
  routes: z.array(z.tuple([ipv4, ipv4])).describe('[address, via]: containers on other hosts'),
  names: z
    .array(z.tuple([ipv4, hostName], hostName))
    .optional()
    .describe('[address, name, aliases...]'),
});

export const HeartbeatResponseBody = z.object({
  accepted: z.literal(true),
  leader: z.string().optional().describe("the current leader's address, when known"),
  failureTimeoutMs: z.number().min(MIN_FAILURE_TIMEOUT_MS).max(MAX_FAILURE_TIMEOUT_MS),
  elsewhere: z.array(z.string()).default([]).describe('containers this host lists that run elsewhere'),
  clusterNetwork: ClusterNetworkPlanSchema.optional(),
  revoked: z
    .array(z.string().regex(/^[0-9A-F]{1,64}$/, { error: 'expected a certificate serial (upper case hex)' }))
    .optional(),
});

/** The manager's check of a heartbeat body (400 with what is wrong). */
export function parseHeartbeatRequest(body: unknown): HeartbeatRequest {
  const protocol = (body as { protocol?: unknown } | null)?.protocol;
  if (protocol !== HEARTBEAT_PROTOCOL)
    throw new ValidationError(
      `unsupported heartbeat protocol ${JSON.stringify(protocol)}; this manager speaks ${HEARTBEAT_PROTOCOL}`,
      'run the same lifeboat version on agents and managers',
    );
  const hb = parseBody(HeartbeatRequestBody, body, 'heartbeat');
  return { ...hb, report: hb.report as unknown as NodeReport };
}

/** The agent's check of a manager's answer; anything but an acceptance is an error (try the next manager). */
export function parseHeartbeatResponse(body: unknown): HeartbeatResponse {
  const r = parseBody(HeartbeatResponseBody, body, 'heartbeat answer');
  const { clusterNetwork, ...rest } = r;
  return clusterNetwork
    ? {
        ...rest,
        clusterNetwork: {
          ...clusterNetwork,
          ...(clusterNetwork.names ? { names: clusterNetwork.names as string[][] } : {}),
        },
      }
    : rest;
}
