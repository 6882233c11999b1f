import { isIP } from 'node:net';
import type { ClusterNetworkPlan } from '../network/cluster-network.ts';
import { parseSubnet } from '../network/subnet.ts';
import { ValidationError } from '../util/errors.ts';
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

type Json = Record<string, unknown>;

function object(v: unknown, what: string): Json {
  if (v === null || typeof v !== 'object' || Array.isArray(v))
    throw new ValidationError(`${what} must be an object`);
  return v as Json;
}

function string(o: Json, key: string, what: string): string {
  const v = o[key];
  if (typeof v !== 'string') throw new ValidationError(`${what}.${key} must be a string`);
  return v;
}

function number(o: Json, key: string, what: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new ValidationError(`${what}.${key} must be a number`);
  return v;
}

function strings(v: unknown, what: string): string[] {
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string'))
    throw new ValidationError(`${what} must be an array of strings`);
  return v as string[];
}

function stringRecord(v: unknown, what: string): Record<string, string> {
  const o = object(v, what);
  for (const [k, s] of Object.entries(o))
    if (typeof s !== 'string') throw new ValidationError(`${what}.${k} must be a string`);
  return o as Record<string, string>;
}

function checkReport(v: unknown): NodeReport {
  const r = object(v, 'report');
  string(r, 'name', 'report');
  string(r, 'address', 'report');
  stringRecord(r['labels'], 'report.labels');
  number(r, 'cpus', 'report');
  number(r, 'memoryBytes', 'report');
  object(r['capabilities'], 'report.capabilities');
  if (!Array.isArray(r['containers'])) throw new ValidationError('report.containers must be an array');
  r['containers'].forEach((c: unknown, i: number) => {
    const what = `report.containers[${i}]`;
    const o = object(c, what);
    string(o, 'Id', what);
    string(o, 'State', what);
    strings(o['Names'], `${what}.Names`);
    if (o['Labels'] !== null && o['Labels'] !== undefined) stringRecord(o['Labels'], `${what}.Labels`);
  });
  if (!Array.isArray(r['images'])) throw new ValidationError('report.images must be an array');
  r['images'].forEach((img: unknown, i: number) => {
    const o = object(img, `report.images[${i}]`);
    string(o, 'id', `report.images[${i}]`);
    strings(o['names'], `report.images[${i}].names`);
  });
  return r as unknown as NodeReport;
}

const STATES: readonly FenceState[] = ['connected', 'fenced', 'reconciling'];

/** The manager's check of a heartbeat body (400 with what is wrong). */
export function parseHeartbeatRequest(body: unknown): HeartbeatRequest {
  const o = object(body, 'heartbeat');
  if (o['protocol'] !== HEARTBEAT_PROTOCOL)
    throw new ValidationError(
      `unsupported heartbeat protocol ${JSON.stringify(o['protocol'])}; this manager speaks ${HEARTBEAT_PROTOCOL}`,
      'run the same lifeboat version on agents and managers',
    );
  const report = checkReport(o['report']);
  const apiUrl = string(o, 'apiUrl', 'heartbeat');
  if (!/^https:\/\/\S+$/.test(apiUrl)) throw new ValidationError('heartbeat.apiUrl must be an https:// URL');
  const bootId = string(o, 'bootId', 'heartbeat');
  const sequence = number(o, 'sequence', 'heartbeat');
  if (!Number.isSafeInteger(sequence) || sequence < 1)
    throw new ValidationError('heartbeat.sequence must be a positive integer');
  const state = o['state'];
  if (!STATES.includes(state as FenceState))
    throw new ValidationError(`heartbeat.state must be one of ${STATES.join(', ')}`);
  return {
    protocol: HEARTBEAT_PROTOCOL,
    report,
    apiUrl,
    bootId,
    sequence,
    state: state as FenceState,
    fenced: strings(o['fenced'] ?? [], 'heartbeat.fenced'),
    sentAt: string(o, 'sentAt', 'heartbeat'),
  };
}

/** The agent's check of a manager's answer; anything but an acceptance is an error (try the next manager). */
export function parseHeartbeatResponse(body: unknown): HeartbeatResponse {
  const o = object(body, 'heartbeat answer');
  if (o['accepted'] !== true) throw new ValidationError('heartbeat answer does not say accepted: true');
  const failureTimeoutMs = number(o, 'failureTimeoutMs', 'heartbeat answer');
  if (failureTimeoutMs < MIN_FAILURE_TIMEOUT_MS || failureTimeoutMs > MAX_FAILURE_TIMEOUT_MS)
    throw new ValidationError(
      `heartbeat answer's failureTimeoutMs ${failureTimeoutMs} is outside ${MIN_FAILURE_TIMEOUT_MS}..${MAX_FAILURE_TIMEOUT_MS}`,
    );
  const out: HeartbeatResponse = {
    accepted: true,
    failureTimeoutMs,
    elsewhere: strings(o['elsewhere'] ?? [], 'heartbeat answer.elsewhere'),
  };
  if (typeof o['leader'] === 'string') out.leader = o['leader'];
  if (o['clusterNetwork'] !== undefined) out.clusterNetwork = clusterNetworkPlan(o['clusterNetwork']);
  if (o['revoked'] !== undefined) {
    const revoked = strings(o['revoked'], 'heartbeat answer.revoked');
    if (revoked.some((x) => !/^[0-9A-F]{1,64}$/.test(x)))
      throw new ValidationError('heartbeat answer.revoked holds certificate serials (upper case hex)');
    out.revoked = revoked;
  }
  return out;
}

function clusterNetworkPlan(v: unknown): ClusterNetworkPlan {
  const o = object(v, 'heartbeat answer.clusterNetwork');
  const subnet = string(o, 'subnet', 'heartbeat answer.clusterNetwork');
  parseSubnet(subnet);
  const gateway = string(o, 'gateway', 'heartbeat answer.clusterNetwork');
  const bridge = string(o, 'bridge', 'heartbeat answer.clusterNetwork');
  if (isIP(gateway) !== 4)
    throw new ValidationError('heartbeat answer.clusterNetwork.gateway must be an IPv4 address');
  if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(bridge))
    throw new ValidationError('heartbeat answer.clusterNetwork.bridge must be an interface name');
  const routes = o['routes'];
  if (!Array.isArray(routes))
    throw new ValidationError('heartbeat answer.clusterNetwork.routes must be an array');
  const names = o['names'];
  if (
    names !== undefined &&
    (!Array.isArray(names) ||
      names.some(
        (n: unknown) =>
          !Array.isArray(n) ||
          n.length < 2 ||
          isIP(String(n[0])) !== 4 ||
          n
            .slice(1)
            .some((x: unknown) => typeof x !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,252}$/.test(x)),
      ))
  )
    throw new ValidationError('heartbeat answer.clusterNetwork.names holds [address, name, ...] lists');
  return {
    subnet,
    gateway,
    bridge,
    ...(names !== undefined ? { names: names as string[][] } : {}),
    routes: routes.map((r: unknown) => {
      if (!Array.isArray(r) || r.length !== 2 || r.some((x) => typeof x !== 'string' || isIP(x) !== 4))
        throw new ValidationError(
          'heartbeat answer.clusterNetwork.routes holds [address, via] pairs of IPv4 addresses',
        );
      return [r[0] as string, r[1] as string];
    }),
  };
}
