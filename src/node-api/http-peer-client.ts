import type { Readable } from 'node:stream';
import { httpsTransport } from '../engine/unix-http.ts';
import { clientTlsOptions, type TlsBundle } from '../pki/index.ts';
import { fromPreparationWire } from './api-input.ts';
import { idleTimeout, NodeApiCaller } from './api-call.ts';
import type {
  Compression,
  PeerDialer,
  PeerRef,
  PeerSource,
  SourcePreparation,
  TransferMode,
} from './node-client.ts';

/** A transfer that delivers nothing for this long is cut (the other host is gone). */
export const TRANSFER_IDLE_MS = 20_000;

/**
 * An agent's client of another agent's source side (`/v1/peer/...`): its
 * own agent certificate proves who asks, and the peer must present an agent
 * certificate naming exactly `ref.name`, the host the manager said holds the
 * data.
 */
export class HttpPeerClient implements PeerSource {
  private readonly api: NodeApiCaller;

  constructor(
    ref: PeerRef,
    tls: TlsBundle,
    private readonly idleMs = TRANSFER_IDLE_MS,
  ) {
    const transport = httpsTransport({
      baseUrl: ref.url,
      tls: clientTlsOptions(tls, { serverRoles: ['agent'], serverIdentity: ref.name }),
    });
    this.api = new NodeApiCaller(ref.name, transport, 30_000);
  }

  close(): void {
    this.api.transport.close();
  }

  async prepareCheckpoint(grant: string): Promise<SourcePreparation> {
    return fromPreparationWire(
      await this.api.json('POST', `/v1/peer/${grant}/prepare`, { timeoutMs: 60_000 }),
    );
  }

  async dumpCheckpoint(
    grant: string,
    opts: { mode: TransferMode; compression: Compression },
  ): Promise<{ archive: Readable; dumpMs: number }> {
    // no deadline for the dump itself (it grows with memory); the manager calls the move off if a host fails
    const res = await this.api.call('POST', `/v1/peer/${grant}/dump`, { query: opts, timeoutMs: 0 });
    const dumpMs = Number(res.headers['x-lifeboat-dump-ms'] ?? NaN);
    return { archive: idleTimeout(res, this.idleMs, `checkpoint from ${this.api.node}`), dumpMs };
  }

  async imageArchive(grant: string): Promise<Readable> {
    // Podman writes the whole image out before the first byte: no deadline on that, only on silence after
    const res = await this.api.call('GET', `/v1/peer/${grant}/image`, { timeoutMs: 0 });
    return idleTimeout(res, this.idleMs, `image from ${this.api.node}`);
  }

  async probe(grant: string, bytes: number): Promise<Readable> {
    const res = await this.api.call('GET', `/v1/peer/${grant}/probe`, {
      query: { bytes },
      timeoutMs: 10_000,
    });
    return idleTimeout(res, this.idleMs, `link probe of ${this.api.node}`);
  }
}

/** An agent's way to its peers: one client (kept-alive connections) per peer name and URL. */
export function peerDialer(tls: TlsBundle): PeerDialer {
  const clients = new Map<string, HttpPeerClient>();
  return (ref) => {
    const key = `${ref.name} ${ref.url}`;
    let c = clients.get(key);
    if (!c) {
      c = new HttpPeerClient(ref, tls);
      clients.set(key, c);
    }
    return c;
  };
}
