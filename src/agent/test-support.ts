import { mkdtemp, rm } from 'node:fs/promises';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClusterCa, createMutualTlsServer, issueCertificate, type TlsBundle } from '../pki/index.ts';
import type { Role } from '../pki/index.ts';
import type { HeartbeatRequest, HeartbeatResponse } from '../node-api/heartbeat-protocol.ts';
import { HEARTBEAT_PATH, parseHeartbeatRequest } from '../node-api/heartbeat-protocol.ts';

/** Certificates for tests: one cluster CA with every role on 127.0.0.1, and a foreign CA. */
export interface TestPki {
  manager: TlsBundle;
  agent: TlsBundle;
  client: TlsBundle;
  /** A manager certificate from another CA (trusting only that CA). */
  foreign: TlsBundle;
  /** Another certificate of this cluster's CA, e.g. an agent per test host. */
  issue(role: Role, name: string): Promise<TlsBundle>;
  remove(): Promise<void>;
}

export async function makeTestPki(): Promise<TestPki> {
  const dir = await mkdtemp(join(tmpdir(), 'lifeboat-agent-pki-'));
  const ca = await createClusterCa(join(dir, 'ca'));
  const other = await createClusterCa(join(dir, 'other-ca'));
  const issue = async (from: typeof ca, role: Role, name: string): Promise<TlsBundle> => {
    const c = await issueCertificate(from, { role, name, ipAddresses: ['127.0.0.1'] });
    return { caPem: c.caPem, certPem: c.certPem, keyPem: c.keyPem };
  };
  return {
    manager: await issue(ca, 'manager', 'manager-1'),
    agent: await issue(ca, 'agent', 'node-a'),
    client: await issue(ca, 'client', 'alice'),
    foreign: await issue(other, 'manager', 'manager-x'),
    issue: (role, name) => issue(ca, role, name),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export type FakeManagerMode = 'accept' | 'hang' | 'refuse';

/**
 * A manager replica reduced to the heartbeat endpoint: records what agents
 * send and answers as told (`hang` holds requests unanswered, as a manager
 * cut off by the network would).
 */
export class FakeManager {
  readonly heartbeats: HeartbeatRequest[] = [];
  mode: FakeManagerMode = 'accept';
  answer: Omit<HeartbeatResponse, 'accepted'> = { failureTimeoutMs: 2000, elsewhere: [] };
  /** Accepted beats are answered this late (a slow network: the answer may cross a fence). */
  delayMs = 0;
  private readonly server: https.Server;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(tls: TlsBundle) {
    this.server = createMutualTlsServer(tls, { allowedRoles: ['agent'] }, (req, res) => {
      if (req.method !== 'POST' || req.url !== HEARTBEAT_PATH) {
        res.writeHead(404).end();
        return;
      }
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (this.mode === 'hang') return;
        if (this.mode === 'refuse') {
          res.writeHead(503, { 'Content-Type': 'application/json' }).end('{"message":"not ready"}');
          return;
        }
        this.heartbeats.push(parseHeartbeatRequest(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
        const body = JSON.stringify({ accepted: true, ...this.answer });
        const send = (): void => {
          res.writeHead(200, { 'Content-Type': 'application/json' }).end(body);
        };
        if (this.delayMs > 0) setTimeout(send, this.delayMs);
        else send();
      });
    });
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  /** Resolves with the first heartbeat (from now on) that satisfies `pred`. */
  async next(pred: (h: HeartbeatRequest) => boolean, timeoutMs: number): Promise<HeartbeatRequest> {
    const from = this.heartbeats.length;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const hit = this.heartbeats.slice(from).find(pred);
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no matching heartbeat within ${timeoutMs} ms`);
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }
}
