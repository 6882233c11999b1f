import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ConnectionLostError, readBody, sendRequest, type Transport } from './unix-http.ts';

// A pooled keep-alive connection the other side closes as it is reused: an
// idempotent request is sent again on a new connection when its body can be
// replayed, and otherwise fails as a lost connection (a 502 naming the
// endpoint), never as an internal error.

describe('sendRequest on a kept-alive connection the server drops', () => {
  let server: http.Server;
  let port = 0;
  const seen: string[] = [];
  before(async () => {
    server = http.createServer((req, res) => {
      // the second request on any connection: the connection goes, unanswered
      const n = ((req.socket as { served?: number }).served ?? 0) + 1;
      (req.socket as { served?: number }).served = n;
      seen.push(`${req.method} ${req.url} #${n}`);
      if (n > 1) {
        req.socket.destroy();
        return;
      }
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  const transport = (): Transport => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    return {
      endpoint: `http://127.0.0.1:${port}`,
      request: ({ method, path, headers }) =>
        http.request({ host: '127.0.0.1', port, method, path, headers, agent }),
      close: () => agent.destroy(),
    };
  };
  /** A transport whose one pooled connection has answered a GET: the server drops it at the next request. */
  const pooled = async (): Promise<Transport> => {
    seen.length = 0;
    const t = transport();
    assert.equal((await readBody(await sendRequest(t, { method: 'GET', path: '/a' }))).toString(), 'ok');
    return t;
  };

  test('a request that can be replayed is sent again on a new connection', async () => {
    const t = await pooled();
    const second = await sendRequest(t, { method: 'PUT', path: '/b', body: '{"x":1}' });
    assert.equal(second.statusCode, 200);
    assert.equal((await readBody(second)).toString(), 'ok');
    assert.deepEqual(seen, ['GET /a #1', 'PUT /b #2', 'PUT /b #1']);
    t.close();
  });

  test('a POST is not sent twice: the other side may have acted on it', async () => {
    const t = await pooled();
    await assert.rejects(
      sendRequest(t, { method: 'POST', path: '/checkpoint', body: '{}' }),
      (err: unknown) => err instanceof ConnectionLostError && err.status === 502,
    );
    assert.deepEqual(seen, ['GET /a #1', 'POST /checkpoint #2']);
    t.close();
  });

  test('a streamed body is not replayed: the connection is said to be lost', async () => {
    const t = await pooled();
    await assert.rejects(
      sendRequest(t, { method: 'PUT', path: '/archive', body: Readable.from([Buffer.from('tar')]) }),
      (err: unknown) =>
        err instanceof ConnectionLostError &&
        err.status === 502 &&
        err.message.includes(`the connection to http://127.0.0.1:${port} broke before it answered`),
    );
    t.close();
  });
});
