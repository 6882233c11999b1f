import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClusterCa, issueToDirectory, loadTlsBundle, serverTlsOptions } from '../pki/index.ts';
import { ManagerClient } from './manager-client.ts';

test('the CLI goes on to the next manager replica when one cannot be reached, and not after one answered', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lifeboat-cli-failover-'));
  // a port nobody listens on (refused), and a live replica
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const deadPort = (closed.address() as net.AddressInfo).port;
  closed.close();
  let server: https.Server | undefined;
  try {
    await createClusterCa(join(dir, 'ca'));
    await issueToDirectory(join(dir, 'ca'), 'manager', 'm2', join(dir, 'm2'), { ipAddresses: ['127.0.0.1'] });
    await issueToDirectory(join(dir, 'ca'), 'client', 'cli', join(dir, 'cli'));
    let hits = 0;
    server = https.createServer(serverTlsOptions(await loadTlsBundle(join(dir, 'm2'))), (req, res) => {
      hits++;
      res.writeHead(req.url === '/fail' ? 500 : 200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(req.url === '/fail' ? { message: 'broken' } : { from: 'm2' }));
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const c = await ManagerClient.open({
      managerUrl: `https://127.0.0.1:${deadPort}`,
      managerUrls: [`https://127.0.0.1:${deadPort}`, `https://127.0.0.1:${port}`],
      pkiDir: join(dir, 'cli'),
      dockerHost: 'unix:///nowhere',
    });
    assert.deepEqual(await c.request('GET', '/x'), { from: 'm2' });
    // an answer, even an error, is final: not retried elsewhere
    await assert.rejects(c.request('GET', '/fail'), /broken/);
    assert.equal(hits, 2);
    const alone = await ManagerClient.open({
      managerUrl: `https://127.0.0.1:${deadPort}`,
      pkiDir: join(dir, 'cli'),
      dockerHost: 'unix:///nowhere',
    });
    await assert.rejects(
      alone.request('GET', '/x'),
      /no manager answered: cannot reach the manager at https:\/\/127\.0\.0\.1/,
    );
  } finally {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
