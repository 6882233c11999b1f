import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PodmanClient } from './podman-client.ts';

// A Podman stand-in on a unix socket: only the two calls a failed dump makes (the checkpoint,
// then the inspect that finds CRIU's log); what CRIU wrote is a file, as on a host.
describe('a dump CRIU refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lb-dump-'));
  const socket = join(dir, 'podman.sock');
  let failures = 0;
  let calls = 0;
  let criuError = '';
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url?.includes('/containers/web/checkpoint')) {
      calls++;
      if (calls <= failures) {
        writeFileSync(
          join(dir, 'dump.log'),
          `(00.1) Error (criu/util.c:1534): rlimit: Can't setup RLIMIT_NOFILE\n${criuError}\n`,
        );
        res.writeHead(500, { 'Content-Type': 'application/json' });
        return res.end(
          JSON.stringify({
            cause: 'exit status 1',
            message: '`/usr/bin/runc checkpoint ...` failed: exit status 1',
            response: 500,
          }),
        );
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end('{}');
    }
    if (req.method === 'GET' && req.url?.includes('/containers/web/json')) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify({ Id: 'x', Name: 'web', StaticDir: dir, State: { Running: true } }));
    }
    res.writeHead(404).end();
  });
  const podman = new PodmanClient(socket, { softDirty: false });
  before(() => new Promise<void>((r) => server.listen(socket, r)));
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('for a connection still in a listening queue is tried again, and passes', async () => {
    calls = 0;
    failures = 2;
    criuError = '(00.2) Error (criu/sk-inet.c:185): inet: In-flight connection (l) for 168f274';
    assert.deepEqual(await podman.checkpoint('web', { tcpEstablished: true, keep: true }), {});
    assert.equal(calls, 3);
  });

  test('for anything else fails at once, with what CRIU said', async () => {
    calls = 0;
    failures = 1;
    criuError = "(00.2) Error (criu/files-reg.c:1710): Can't lookup mount=1234 for fd=5";
    await assert.rejects(podman.checkpoint('web', { keep: true }), (err: Error) => {
      assert.match(err.message, /exit status 1\n.*Can't lookup mount=1234/);
      assert.doesNotMatch(err.message, /RLIMIT_NOFILE/);
      return true;
    });
    assert.equal(calls, 1);
  });

  test('an in-flight connection every time: it gives up after four dumps', async () => {
    calls = 0;
    failures = 10;
    criuError = '(00.2) Error (criu/sk-inet.c:185): inet: In-flight connection (l) for 1';
    await assert.rejects(podman.checkpoint('web', { keep: true }), /In-flight connection/);
    assert.equal(calls, 4);
  });
});
