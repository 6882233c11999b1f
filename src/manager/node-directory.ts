import type { NodeClient, PeerRef } from '../node-api/node-client.ts';
import type { NodeRecord } from './records.ts';

/** Where the manager finds a client for each host (in-process NodeService or HTTPS). */
export interface NodeDirectory {
  client(name: string): NodeClient;
  /** Where agents reach this host's node API themselves (agent-to-agent transfers). */
  peer(name: string): PeerRef;
  /** Hosts with a recent heartbeat, by the failure detector's judgement. */
  healthy(): Promise<NodeRecord[]>;
  all(): Promise<NodeRecord[]>;
}
