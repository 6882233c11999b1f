import { Readable } from 'node:stream';
import type { NodeService } from '../../src/agent/node-service.ts';
import {
  packMembers,
  type SyntheticMember,
} from '../../src/checkpoint/archive/fixtures/synthetic-archive.ts';

/**
 * Turns a host's source side into a compromised one: the real dump still
 * happens (the container is frozen as in a real move), then `members` are
 * sent instead of its archive. Returns what puts the honest side back.
 */
export function compromiseSource(svc: NodeService, members: SyntheticMember[]): () => void {
  const honest = svc.peer.bind(svc);
  svc.peer = (caller) => {
    const p = honest(caller);
    return {
      ...p,
      dumpCheckpoint: async (grant, opts) => {
        const real = await p.dumpCheckpoint(grant, opts);
        real.archive.destroy();
        return { archive: Readable.from([await packMembers(members)]), dumpMs: real.dumpMs };
      },
    };
  };
  return () => {
    svc.peer = honest;
  };
}
