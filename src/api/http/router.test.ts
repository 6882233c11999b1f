import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { LifeboatError, ValidationError } from '../../util/errors.ts';
import { createLogger } from '../../util/log.ts';
import { Router } from './router.ts';
import { serve, type RunningServer } from './serve.ts';

let srv: RunningServer;
const logged: string[] = [];

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(method: string, path: string, body?: string | Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: srv.host, port: srv.port, method, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    r.on('error', reject);
    r.end(body);
  });
}

/** Sends raw bytes and collects everything the server writes until it closes (or `until` matches). */
function raw(bytes: string, until?: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(srv.port, srv.host, () => s.write(bytes));
    let out = '';
    s.on('data', (c: Buffer) => {
      out += c.toString();
      if (until?.test(out)) {
        s.destroy();
        resolve(out);
      }
    });
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

describe('http router', () => {
  before(async () => {
    const router = new Router({
      bodyLimitBytes: 64,
      headers: { 'Api-Version': '1.47' },
      apiVersions: { min: '1.24', max: '1.47' },
      logger: createLogger('test', (l) => logged.push(l)),
    });
    router.get('/things/json', (ctx) => ctx.send(200, { which: 'literal' }));
    router.get('/things/{id}', (ctx) => ctx.send(200, { id: ctx.param('id'), n: ctx.int('n') ?? null }));
    router.delete('/things/{id}', (ctx) => ctx.send(204));
    router.post('/echo', async (ctx) => ctx.send(200, { got: (await ctx.json()) ?? null }));
    router.get('/bad-input', () => {
      throw new ValidationError('name must not be empty');
    });
    router.get('/conflict', () => {
      throw new LifeboatError('conflict', 'already there', { status: 409 });
    });
    router.get('/boom', () => {
      throw new Error('secret internals');
    });
    router.post('/echo-stream', (ctx) => {
      const conn = ctx.hijack('application/vnd.docker.raw-stream');
      conn.input.pipe(conn.output);
    });
    srv = await serve(router);
  });
  after(() => srv.close());

  test('unknown route: 404 with a Docker-style message', async () => {
    const r = await request('GET', '/nothing/here');
    assert.equal(r.status, 404);
    assert.deepEqual(JSON.parse(r.body), { message: 'page not found' });
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['api-version'], '1.47');
  });

  test('path parameters are decoded; literal routes win over parameters', async () => {
    assert.deepEqual(JSON.parse((await request('GET', '/things/a%20b?n=3')).body), { id: 'a b', n: 3 });
    assert.deepEqual(JSON.parse((await request('GET', '/things/json')).body), { which: 'literal' });
  });

  test('versioned and unversioned paths reach the same route; out-of-range versions are 400', async () => {
    assert.equal((await request('GET', '/v1.47/things/x')).status, 200);
    assert.equal((await request('GET', '/v1.41/things/x')).status, 200);
    const tooNew = await request('GET', '/v1.48/things/x');
    assert.equal(tooNew.status, 400);
    assert.match(
      JSON.parse(tooNew.body).message,
      /client version 1\.48 is too new\. Maximum supported API version is 1\.47/,
    );
    const tooOld = await request('GET', '/v1.12/things/x');
    assert.equal(tooOld.status, 400);
    assert.match(JSON.parse(tooOld.body).message, /too old/);
  });

  test('HEAD is answered by the GET route, without a body', async () => {
    const r = await request('HEAD', '/things/x');
    assert.equal(r.status, 200);
    assert.equal(r.body, '');
  });

  test('a wrong method is 405 with Allow', async () => {
    const r = await request('PUT', '/things/x');
    assert.equal(r.status, 405);
    assert.match(r.headers['allow'] ?? '', /GET/);
    assert.match(JSON.parse(r.body).message, /PUT is not allowed/);
  });

  test('JSON body: parsed; empty is undefined; malformed is 400; too large is 413', async () => {
    assert.deepEqual(JSON.parse((await request('POST', '/echo', '{"a":1}')).body), { got: { a: 1 } });
    assert.deepEqual(JSON.parse((await request('POST', '/echo')).body), { got: null });
    const bad = await request('POST', '/echo', '{"a":');
    assert.equal(bad.status, 400);
    assert.match(JSON.parse(bad.body).message, /^malformed JSON in request body/);
    const big = await request('POST', '/echo', JSON.stringify({ a: 'x'.repeat(100) }));
    assert.equal(big.status, 413);
    assert.match(JSON.parse(big.body).message, /exceeds the limit of 64 bytes/);
  });

  test('a body larger than the limit without Content-Length (chunked) is 413 too', async () => {
    const out = await raw(
      'POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '50\r\n' +
        'x'.repeat(0x50) +
        '\r\n0\r\n\r\n',
      /\}\n$/,
    );
    assert.match(out, /^HTTP\/1\.1 413/);
  });

  test('typed errors keep their status and message; unknown errors are a generic 500, logged', async () => {
    const v = await request('GET', '/bad-input');
    assert.equal(v.status, 400);
    assert.deepEqual(JSON.parse(v.body), { message: 'name must not be empty' });
    assert.equal((await request('GET', '/conflict')).status, 409);
    const boom = await request('GET', '/boom');
    assert.equal(boom.status, 500);
    assert.deepEqual(JSON.parse(boom.body), { message: 'internal server error' });
    assert.ok(logged.some((l) => l.includes('secret internals')));
  });

  test('an upgrade request can be hijacked: 101, then bytes both ways', async () => {
    const out = await raw(
      'POST /v1.47/echo-stream HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\nhello',
      /hello$/,
    );
    assert.match(out, /^HTTP\/1\.1 101 UPGRADED\r\n/);
    assert.match(out, /Content-Type: application\/vnd\.docker\.raw-stream\r\n/);
    assert.match(out, /Api-Version: 1\.47\r\n/);
  });

  test('an absolute-form target that is no URL is a 400, and the server lives on', async () => {
    const out = await raw('GET http://[/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    assert.match(out, /^HTTP\/1\.1 400 /);
    assert.match(out, /\{"message":"invalid request target \\"http:\/\/\[\/\\""\}/);
    assert.equal((await request('GET', '/things/json')).status, 200);
  });

  test('requests the HTTP parser refuses get a status and a JSON message too', async () => {
    const garbage = await raw('NOT AN HTTP REQUEST\r\n\r\n');
    assert.match(garbage, /^HTTP\/1\.1 400 Bad Request\r\n/);
    assert.match(garbage, /\{"message":"malformed HTTP request \(HPE_[A-Z_]+\)"\}/);
    const huge = await raw(`GET /things/x HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100_000)}\r\n\r\n`);
    assert.match(huge, /^HTTP\/1\.1 431 /);
    assert.match(huge, /\{"message":"request headers are too large"\}/);
    assert.equal((await request('GET', '/things/json')).status, 200);
  });

  test('an upgrade request to an unknown route gets an ordinary JSON 404 and is closed', async () => {
    const out = await raw('POST /nowhere HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n');
    assert.match(out, /^HTTP\/1\.1 404 Not Found\r\n/);
    assert.match(out, /\{"message":"page not found"\}/);
  });
});

describe('Router mount and intercept', () => {
  let s: RunningServer;
  const seen: string[] = [];
  before(async () => {
    const inner = new Router();
    inner.get('/containers/{id}/json', (ctx) =>
      ctx.send(200, { inner: ctx.param('id'), q: ctx.string('all') }),
    );
    const outer = new Router({
      intercept: async (req, res) => {
        seen.push(req.url ?? '');
        if (!req.url?.startsWith('/elsewhere')) return false;
        res.writeHead(299, { 'Content-Type': 'text/plain' });
        res.end('forwarded');
        return true;
      },
    });
    outer.get('/here', (ctx) => ctx.send(200, { here: true }));
    outer.mount('/fwd/docker/', (req, res, upgrade) => inner.handle(req, res, upgrade).then(() => true));
    s = await serve(outer);
  });
  after(() => s.close());
  const get = async (path: string): Promise<{ status: number; body: string }> => {
    const r = await fetch(`http://${s.host}:${s.port}${path}`);
    return { status: r.status, body: await r.text() };
  };

  test('a mounted router sees the path without the prefix, query kept; the interceptor never sees it', async () => {
    const r = await get('/fwd/docker/containers/abc/json?all=1');
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { inner: 'abc', q: '1' });
    assert.ok(!seen.some((u) => u.includes('fwd')));
  });

  test('the interceptor answers what it takes and lets the rest through to the routes', async () => {
    assert.deepEqual(await get('/elsewhere/x'), { status: 299, body: 'forwarded' });
    assert.deepEqual(await get('/here'), { status: 200, body: '{"here":true}\n' });
    assert.equal((await get('/fwdx')).status, 404, 'a prefix matches whole segments only');
  });
});

describe('router: rest parameters', () => {
  test('{name*} takes the slashes of an image name; literal routes still win', async () => {
    const seen: string[] = [];
    const r = new Router();
    r.get('/images/json', () => void seen.push('list'));
    r.get('/images/{name*}/json', (ctx) => void seen.push(ctx.param('name')));
    const match = (path: string): unknown =>
      (r as unknown as { match(m: string, p: string): { params: Record<string, string> } }).match('GET', path)
        .params;
    assert.deepEqual(match('/images/localhost/lifeboat/busybox:latest/json'), {
      name: 'localhost/lifeboat/busybox:latest',
    });
    assert.deepEqual(match('/images/busybox/json'), { name: 'busybox' });
    assert.deepEqual(match('/images/json'), {});
    assert.throws(() => match('/images/busybox/json/more'));
  });
});
