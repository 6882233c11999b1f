import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { idleTimeout } from './api-call.ts';

describe('idleTimeout on a kept-alive connection', () => {
  let server: http.Server;
  let port = 0;
  before(async () => {
    server = http.createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      res.write(Buffer.alloc(1024));
      setTimeout(() => res.end(Buffer.alloc(1024)), 20);
    });
    server.keepAliveTimeout = 5000;
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  test('the stream limit ends with the stream: the pooled socket keeps the agent idle timeout', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1, timeout: 3000 });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
          http.get({ host: '127.0.0.1', port, path: '/', agent }, resolve).on('error', reject),
        );
        const socket = res.socket as Socket;
        idleTimeout(res, 30_000, 'test stream');
        assert.equal(socket.timeout, 30_000, 'while streaming: the stall limit');
        for await (const _chunk of res) {
          // drain
        }
        await new Promise((r) => setTimeout(r, 20));
        // back in the pool: the agent's own timeout (3 s, under the server's hint of 5 s less 1 s)
        assert.equal(socket.timeout, 3000, `pooled socket timeout after stream ${i + 1}`);
        assert.equal(socket.listenerCount('timeout') > 0, true, "the agent's idle handler is still there");
      }
    } finally {
      agent.destroy();
    }
  });
});
