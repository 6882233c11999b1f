import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { muxFrame } from '../../engine/demux-stream.ts';
import { createLogger } from '../../util/log.ts';
import type { RunningServer } from '../http/serve.ts';
import type { DockerBackend, LogsOptions, StartOptions, WaitHandle } from './backend.ts';
import { NoSuchContainerError } from './errors.ts';
import { startDockerApiServer } from './server.ts';
import type { DockerWaitResponse } from './types.ts';

// The HTTP contract of the Docker API over a scripted backend: what the
// docker CLI depends on beyond the data (headers, flush timing, framing).
let srv: RunningServer;
const calls: { method: string; args: unknown[] }[] = [];
let impl: Partial<DockerBackend> = {};

const backend = new Proxy({} as DockerBackend, {
  get(_t, prop: string) {
    return (...args: unknown[]) => {
      calls.push({ method: prop, args });
      const f = (impl as Record<string, (...a: unknown[]) => unknown>)[prop];
      if (!f) throw new Error(`backend.${prop} not scripted`);
      return f(...args);
    };
  },
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  json(): unknown;
}

function request(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: srv.host, port: srv.port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const b = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: b,
          json: () => JSON.parse(b.toString()),
        });
      });
    });
    r.on('error', reject);
    r.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('docker API over a scripted backend', () => {
  before(async () => {
    srv = await startDockerApiServer({ backend, logger: createLogger('test', () => {}) });
  });
  after(() => srv.close());

  test('_ping (HEAD and GET) carries the headers the docker CLI reads', async () => {
    for (const method of ['HEAD', 'GET']) {
      const r = await request(method, '/_ping');
      assert.equal(r.status, 200);
      assert.equal(r.headers['api-version'], '1.47');
      assert.equal(r.headers['docker-experimental'], 'true');
      assert.equal(r.headers['ostype'], 'linux');
      assert.match(String(r.headers['server']), /^lifeboat\//);
      assert.equal(r.body.toString(), method === 'GET' ? 'OK' : '');
    }
  });

  test('wait: status line first, exit code when the container exits', async () => {
    const exit = deferred<DockerWaitResponse>();
    impl = { waitContainer: async (): Promise<WaitHandle> => ({ result: exit.promise }) };
    const headersSeen = deferred<http.IncomingMessage>();
    const r = http.request({
      host: srv.host,
      port: srv.port,
      method: 'POST',
      path: '/v1.47/containers/web/wait?condition=next-exit',
    });
    r.on('response', (res) => headersSeen.resolve(res));
    r.end();
    const res = await headersSeen.promise;
    assert.equal(res.statusCode, 200, 'headers arrive while the container still runs');
    assert.equal(calls.at(-1)?.args[1], 'next-exit');
    exit.resolve({ StatusCode: 3 });
    let body = '';
    for await (const c of res) body += String(c);
    assert.deepEqual(JSON.parse(body), { StatusCode: 3 });
  });

  test('wait: a client that goes away aborts the backend wait', async () => {
    const aborted = deferred<boolean>();
    impl = {
      waitContainer: async (_ref, _cond, signal): Promise<WaitHandle> => {
        signal.addEventListener('abort', () => aborted.resolve(true));
        return { result: new Promise(() => {}) };
      },
    };
    const r = http.request({ host: srv.host, port: srv.port, method: 'POST', path: '/containers/web/wait' });
    r.on('response', () => r.destroy());
    r.on('error', () => {});
    r.end();
    assert.equal(await aborted.promise, true);
  });

  test('wait: an unknown container is a plain 404 before any header', async () => {
    impl = {
      waitContainer: async (ref: string) => {
        throw new NoSuchContainerError(ref);
      },
    };
    const r = await request('POST', '/containers/nope/wait');
    assert.equal(r.status, 404);
    assert.deepEqual(r.json(), { message: 'No such container: nope' });
    const bad = await request('POST', '/containers/web/wait?condition=later');
    assert.equal(bad.status, 400);
  });

  test('logs: multiplexed frames, only the streams asked for; raw for a TTY', async () => {
    const frames = [
      { stream: 'stdout' as const, data: Buffer.from('out\n') },
      { stream: 'stderr' as const, data: Buffer.from('err\n') },
    ];
    let tty = false;
    let seen: LogsOptions | undefined;
    impl = {
      containerLogs: async (_ref: string, opts: LogsOptions) => {
        seen = opts;
        return {
          tty,
          frames: (async function* () {
            yield* frames;
          })(),
          close: () => {},
        };
      },
    };
    const both = await request('GET', '/v1.47/containers/web/logs?stdout=1&stderr=1&tail=5&timestamps=1');
    assert.equal(both.headers['content-type'], 'application/vnd.docker.multiplexed-stream');
    assert.deepEqual(
      both.body,
      Buffer.concat([muxFrame('stdout', frames[0]!.data), muxFrame('stderr', frames[1]!.data)]),
    );
    assert.deepEqual(seen, { follow: false, tail: 5, timestamps: true });
    const outOnly = await request('GET', '/containers/web/logs?stdout=1');
    assert.deepEqual(outOnly.body, muxFrame('stdout', frames[0]!.data));
    tty = true;
    const raw = await request('GET', '/containers/web/logs?stdout=1&stderr=1');
    assert.equal(raw.headers['content-type'], 'application/vnd.docker.raw-stream');
    assert.equal(raw.body.toString(), 'out\nerr\n');
    const none = await request('GET', '/containers/web/logs');
    assert.equal(none.status, 400);
    assert.match((none.json() as { message: string }).message, /at least one stream/);
  });

  test('create: name from the query, validated body, 201 with the ID', async () => {
    impl = { createContainer: async () => ({ Id: 'abc', Warnings: [] }) };
    const r = await request('POST', '/v1.47/containers/create?name=web', { Image: 'busybox', Cmd: ['true'] });
    assert.equal(r.status, 201);
    assert.deepEqual(r.json(), { Id: 'abc', Warnings: [] });
    assert.deepEqual(calls.at(-1)?.args, [{ Image: 'busybox', Cmd: ['true'] }, 'web', {}]);
    await request('POST', '/containers/create?platform=linux/arm64', { Image: 'busybox' });
    assert.deepEqual(calls.at(-1)?.args[2], {
      platform: { raw: 'linux/arm64', os: 'linux', machine: 'aarch64' },
    });
    const win = await request('POST', '/containers/create?platform=windows', { Image: 'busybox' });
    assert.equal(win.status, 400);
    assert.equal((await request('POST', '/containers/create?name=a', { Image: 'x' })).status, 400);
    assert.equal((await request('POST', '/containers/create', { Cmd: ['true'] })).status, 400);
  });

  test('start: checkpoint parameters reach the backend; an already running container is 304', async () => {
    let opts: StartOptions | undefined;
    impl = {
      startContainer: async (_ref: string, o?: StartOptions) => {
        opts = o;
        return o?.checkpoint ? 'started' : 'already-running';
      },
    };
    const r = await request('POST', '/containers/web/start?checkpoint=cp1&checkpoint-dir=/srv/cp');
    assert.equal(r.status, 204);
    assert.deepEqual(opts, { checkpoint: 'cp1', checkpointDir: '/srv/cp' });
    assert.equal((await request('POST', '/containers/web/start')).status, 304);
    assert.equal((await request('POST', '/containers/web/start?checkpoint=../x')).status, 400);
    assert.equal(
      (await request('POST', '/containers/web/start?checkpoint=cp&checkpoint-dir=x/y')).status,
      400,
    );
  });

  test('checkpoints: create (201), list, delete (204), with precise 400s', async () => {
    impl = {
      createCheckpoint: async () => {},
      listCheckpoints: async () => [{ Name: 'cp1' }],
      deleteCheckpoint: async () => {},
    };
    const created = await request('POST', '/containers/web/checkpoints', {
      CheckpointID: 'cp1',
      CheckpointDir: '',
      Exit: true,
    });
    assert.equal(created.status, 201);
    assert.deepEqual(calls.at(-1)?.args, ['web', { id: 'cp1', exit: true }]);
    const list = await request('GET', '/containers/web/checkpoints?dir=/srv/cp');
    assert.deepEqual(list.json(), [{ Name: 'cp1' }]);
    assert.deepEqual(calls.at(-1)?.args, ['web', { dir: '/srv/cp' }]);
    assert.equal((await request('DELETE', '/containers/web/checkpoints/cp1')).status, 204);
    const bad = await request('POST', '/containers/web/checkpoints', { CheckpointID: 'a/b' });
    assert.equal(bad.status, 400);
    assert.match((bad.json() as { message: string }).message, /invalid checkpoint ID "a\/b"/);
    assert.equal(
      (await request('POST', '/containers/web/checkpoints', { CheckpointID: 'x', CheckpointDir: '/a/../b' }))
        .status,
      400,
    );
    assert.equal((await request('POST', '/containers/web/checkpoints')).status, 400);
    assert.equal((await request('GET', '/containers/web/checkpoints?dir=relative')).status, 400);
  });

  test('list: all, limit and filters reach the backend; bad filters are 400', async () => {
    impl = { listContainers: async () => [] };
    await request('GET', '/containers/json?all=1&limit=3&filters=' + encodeURIComponent('{"name":["web"]}'));
    assert.deepEqual(calls.at(-1)?.args, [{ all: true, limit: 3, filters: { name: ['web'] } }]);
    assert.equal(
      (await request('GET', '/containers/json?filters=' + encodeURIComponent('{"nope":["x"]}'))).status,
      400,
    );
    assert.equal((await request('GET', '/containers/json?limit=x')).status, 400);
  });

  test("pull streams the backend's progress as Docker's JSON lines with the credentials passed on; import and bad credentials are refused; an exec without a command is a 400", async () => {
    const auth = Buffer.from(JSON.stringify({ username: 'u', password: 'p' })).toString('base64url');
    impl = {
      pullImage: async (req) =>
        (async function* () {
          yield {
            id: 'n1',
            status: `Pulling ${req.image}:${req.tag} with ${req.registryAuth === auth ? 'the' : 'no'} credentials`,
          };
          yield { status: 'Status: done' };
        })(),
    };
    const pull = await request('POST', '/v1.47/images/create?fromImage=busybox&tag=1', undefined, {
      'X-Registry-Auth': auth,
    });
    assert.equal(pull.status, 200);
    assert.deepEqual(
      pull.body
        .toString()
        .trim()
        .split('\r\n')
        .map((l) => JSON.parse(l) as unknown),
      [{ id: 'n1', status: 'Pulling busybox:1 with the credentials' }, { status: 'Status: done' }],
    );
    const imp = await request('POST', '/images/create?fromSrc=-');
    assert.equal(imp.status, 501);
    assert.match((imp.json() as { message: string }).message, /docker import\) is not supported/);
    const exec = await request('POST', '/containers/web/exec', {});
    assert.equal(exec.status, 400);
    assert.match((exec.json() as { message: string }).message, /No exec command specified/);
  });
});
