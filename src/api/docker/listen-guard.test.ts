import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { checkDockerListen, InsecureListenError, isLoopbackHost } from './listen-guard.ts';
import { startDockerApiServer } from './server.ts';
import type { DockerBackend } from './backend.ts';

describe('Docker endpoint listen guard', () => {
  test('loopback addresses and localhost are loopback; everything else is not', () => {
    for (const h of [
      '127.0.0.1',
      '127.9.8.7',
      '::1',
      '[::1]',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
      'localhost',
    ])
      assert.equal(isLoopbackHost(h), true, h);
    for (const h of [
      '0.0.0.0',
      '::',
      '',
      '10.0.0.1',
      '128.0.0.1',
      '::ffff:10.0.0.1',
      'example.org',
      'localhost.evil',
    ])
      assert.equal(isLoopbackHost(h), false, h);
  });

  test('a non-loopback bind without TLS is refused with what to do instead', () => {
    for (const host of ['0.0.0.0', '10.99.0.1', '::', '']) {
      assert.throws(
        () => checkDockerListen({ host, tls: false }),
        (err) => {
          assert.ok(err instanceof InsecureListenError);
          assert.equal(err.code, 'insecure_listen');
          assert.match(err.message, /without TLS/);
          assert.match(err.hint ?? '', /lifeboat cert issue --role manager/);
          assert.match(err.hint ?? '', /--tlsverify/);
          return true;
        },
      );
    }
    assert.throws(() => checkDockerListen({ host: '10.0.0.1', tls: undefined }), InsecureListenError);
  });

  test('loopback without TLS, and anything with TLS, is allowed', () => {
    checkDockerListen({ host: '127.0.0.1', tls: false });
    checkDockerListen({ host: '::1', tls: undefined });
    checkDockerListen({ host: '0.0.0.0', tls: true });
    checkDockerListen({ host: '10.0.0.1', tls: { caPem: 'x', certPem: 'y', keyPem: 'z' } });
  });

  test('startDockerApiServer refuses to serve clear text beyond loopback', async () => {
    const backend = {} as DockerBackend;
    await assert.rejects(startDockerApiServer({ backend, host: '0.0.0.0', port: 0 }), InsecureListenError);
  });

  test('the clear-text listener refuses what only a web page sends: Origin, a foreign Host, form content types', async () => {
    const backend = { ping: async () => undefined } as unknown as DockerBackend;
    const srv = await startDockerApiServer({ backend, port: 0 });
    try {
      const ask = (
        headers: Record<string, string>,
        method = 'GET',
      ): Promise<{ status: number; body: string }> =>
        new Promise((resolve, reject) => {
          const r = http.request(
            { host: '127.0.0.1', port: srv.port, path: '/_ping', method, headers },
            (res) => {
              let body = '';
              res.on('data', (d: Buffer) => (body += d.toString()));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
            },
          );
          r.on('error', reject);
          r.end();
        });
      assert.equal((await ask({})).status, 200, 'a Docker client');
      assert.equal((await ask({ Host: `localhost:${srv.port}` })).status, 200);
      const page = await ask({ Origin: 'https://evil.example' }, 'POST');
      assert.equal(page.status, 403);
      assert.match(JSON.parse(page.body).message, /web page \(Origin: https:\/\/evil.example\)/);
      const rebound = await ask({ Host: `evil.example:${srv.port}` });
      assert.equal(rebound.status, 403);
      assert.match(JSON.parse(rebound.body).message, /DNS rebinding/);
      for (const type of [
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
      ])
        assert.equal((await ask({ 'Content-Type': type }, 'POST')).status, 403, type);
    } finally {
      await srv.close();
    }
  });
});
