import assert from 'node:assert/strict';
import http, { type IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { createLogger } from '../util/log.ts';
import { startDashboardProxy, type RunningDashboard } from './dashboard-proxy.ts';

/** A request to the proxy: status, headers and body. */
function call(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers ?? {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('dashboard proxy', () => {
  const upstream: { method: string; path: string; payload?: string }[] = [];
  const faults: string[] = [];
  let dash: RunningDashboard;
  let cookie: string;
  before(async () => {
    dash = await startDashboardProxy({
      manager: {
        raw: async (method, path, _headers, payload) => {
          upstream.push({ method, path, ...(payload ? { payload: payload.toString() } : {}) });
          const res = new PassThrough() as unknown as IncomingMessage & PassThrough;
          Object.assign(res, { statusCode: 200, headers: { 'content-type': 'application/json' } });
          (res as PassThrough).end(JSON.stringify({ from: 'manager', path }));
          return res;
        },
      },
      token: 'secret-token',
      local: async (host, action) => {
        faults.push(`${action} ${host}`);
        return `${host} ${action}ed`;
      },
      logger: createLogger('test/dashboard', () => undefined),
    });
  });
  after(async () => dash.close());

  test('the printed URL logs in: the token becomes an HttpOnly, SameSite=Strict cookie and leaves the URL', async () => {
    const r = await call(dash.loginUrl);
    assert.equal(r.status, 303);
    assert.equal(r.headers.location, '/ui/');
    const set = String(r.headers['set-cookie']);
    assert.match(set, /lifeboat_dashboard=secret-token; HttpOnly; SameSite=Strict; Path=\//);
    cookie = set.split(';')[0]!;
  });

  test('without the token, with a wrong one, or under another Host name: refused', async () => {
    assert.equal((await call(dash.url)).status, 401);
    assert.equal((await call(dash.url, { headers: { Cookie: 'lifeboat_dashboard=nope' } })).status, 401);
    assert.equal((await call(`${dash.url}?token=nope`)).status, 401);
    // DNS rebinding: a page of evil.example resolving to 127.0.0.1 sends its own Host
    const rebound = await call(dash.url, { headers: { Cookie: cookie, Host: 'evil.example' } });
    assert.equal(rebound.status, 403);
    assert.match(rebound.body, /is not this dashboard/);
  });

  test('with the cookie (or a bearer token) the page and its data come from the manager', async () => {
    const page = await call(dash.url, { headers: { Cookie: cookie } });
    assert.equal(page.status, 200);
    assert.deepEqual(JSON.parse(page.body), { from: 'manager', path: '/ui/' });
    const ov = await call(dash.url.replace('/ui/', '/lifeboat/v1/overview'), {
      headers: { Authorization: 'Bearer secret-token' },
    });
    assert.equal(JSON.parse(ov.body).path, '/lifeboat/v1/overview');
  });

  test('only what the page uses passes; a foreign Origin cannot change anything', async () => {
    const base = dash.url.replace('/ui/', '');
    const headers = { Cookie: cookie, 'Content-Type': 'application/json' };
    const n = upstream.length;
    assert.equal(
      (await call(`${base}/lifeboat/v1/containers/kv/checkpoint`, { method: 'POST', headers })).status,
      404,
    );
    assert.equal((await call(`${base}/v1.47/containers/json`, { headers })).status, 404);
    const csrf = await call(`${base}/lifeboat/v1/containers/kv/migrate`, {
      method: 'POST',
      headers: { ...headers, Origin: 'http://evil.example' },
      body: '{}',
    });
    assert.equal(csrf.status, 403);
    assert.equal(upstream.length, n, 'nothing reached the manager');
    const ok = await call(`${base}/lifeboat/v1/containers/kv/migrate`, {
      method: 'POST',
      headers: { ...headers, Origin: base },
      body: '{"to":"n2"}',
    });
    assert.equal(ok.status, 200);
    assert.deepEqual(upstream.at(-1), {
      method: 'POST',
      path: '/lifeboat/v1/containers/kv/migrate',
      payload: '{"to":"n2"}',
    });
  });

  test('local fault buttons', async () => {
    const base = dash.url.replace('/ui/', '');
    assert.equal((await call(`${base}/local`, { headers: { Cookie: cookie } })).status, 200);
    const r = await call(`${base}/local/nodes/n1/kill`, { method: 'POST', headers: { Cookie: cookie } });
    assert.deepEqual(JSON.parse(r.body), { message: 'n1 killed' });
    assert.deepEqual(faults, ['kill n1']);
    assert.equal(
      (await call(`${base}/local/nodes/n1/format-disk`, { method: 'POST', headers: { Cookie: cookie } }))
        .status,
      404,
    );
  });
});
