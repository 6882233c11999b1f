import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { clusterDown, type ClusterUpResult } from '../../src/devcluster/cluster-up.ts';
import { LocalCluster } from '../../src/devcluster/local-cluster.ts';
import { ManagerClient } from '../../src/cli/manager-client.ts';
import { LOCAL_FAULTS } from '../../src/cli/commands/node.ts';
import { startDashboardProxy, type RunningDashboard } from '../../src/ui/dashboard-proxy.ts';
import { createLogger } from '../../src/util/log.ts';
import { freshCluster, keepLogsOnFailure } from '../support/e2e-cluster.ts';
import { clientTlsOptions, loadTlsBundle } from '../../src/pki/index.ts';

// The dashboard in a real browser (Debian's Chromium, headless, through
// playwright-core) against a local cluster: the page shows the hosts and a
// checkpointed redis, a migration started from the page runs its steps and
// the container shows up on the other host, and the kill button turns its
// host red while the container comes back on the first one.
const run = promisify(execFile);
const ROOT = '/var/tmp/lifeboat-ui';
const DOCKER_PORT = 23736;
/** Where the screenshots go (LIFEBOAT_UI_SHOTS to keep them, e.g. for the README). */
const SHOTS = process.env['LIFEBOAT_UI_SHOTS'] ?? join(ROOT + '-shots');

let up: ClusterUpResult;
let api!: ManagerClient;
let dash: RunningDashboard;
let browser: BrowserContext;
let page: Page;
const profile = mkdtempSync(join(tmpdir(), 'lb-chromium-'));

async function docker(...args: string[]): Promise<string> {
  return (
    await run('docker', args, { env: { ...process.env, DOCKER_HOST: `tcp://127.0.0.1:${DOCKER_PORT}` } })
  ).stdout.trim();
}

/** `promtool check metrics` (Debian's prometheus package) on a scrape: its complaints, '' when clean. */
async function promtool(text: string): Promise<string> {
  const child = run('promtool', ['check', 'metrics']);
  child.child.stdin!.end(text);
  try {
    const r = await child;
    return (r.stdout + r.stderr).trim();
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return `FAILED: ${e.stdout ?? ''}${e.stderr ?? ''}`.trim();
  }
}

/** An agent's /v1/metrics, scraped as a manager does (its certificate, over mutual TLS). */
async function agentMetrics(address: string): Promise<string> {
  const tls = await loadTlsBundle(join(ROOT, 'pki', 'manager-1'));
  return new Promise((resolve, reject) => {
    const req = https.get(
      `https://${address}:7443/v1/metrics`,
      { ...clientTlsOptions(tls, { serverRoles: ['agent'] }) },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () =>
          res.statusCode === 200 ? resolve(body) : reject(new Error(`${res.statusCode}: ${body}`)),
        );
      },
    );
    req.on('error', reject);
  });
}

/** lifeboat_recovery_point_seconds of a container, from the manager's scrape. */
async function recoveryPoint(container: string): Promise<number> {
  const text = await api.request<string>('GET', '/lifeboat/v1/metrics');
  const m = new RegExp(
    `^lifeboat_recovery_point_seconds\\{container="${container}"\\} ([0-9.e+-]+)$`,
    'm',
  ).exec(text);
  if (!m) throw new Error(`no recovery point for ${container}`);
  return Number(m[1]);
}

describe('dashboard in Chromium', () => {
  const keepLogs = keepLogsOnFailure(ROOT, 'dashboard');
  before(async () => {
    ({ up } = await freshCluster({
      nodes: 2,
      root: ROOT,
      cluster: { bridge: 'lbui0', subnet: '10.86.0.0/24', namePrefix: 'u' },
      managerPort: 7520,
      dockerPort: DOCKER_PORT,
      failureTimeoutMs: 3000,
    }));
    const manager = await ManagerClient.open({
      managerUrl: up.managerUrl,
      pkiDir: up.pkiDir,
      dockerHost: up.dockerHost,
    });
    api = manager;
    const cluster = new LocalCluster({ root: ROOT });
    dash = await startDashboardProxy({
      manager,
      local: (host, action) => LOCAL_FAULTS[action].run(cluster, host),
      logger: createLogger('test/dashboard', () => undefined),
    });
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      viewport: { width: 1280, height: 800 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    mkdirSync(SHOTS, { recursive: true });
  });
  after(async () => {
    await browser?.close().catch(() => undefined);
    await dash?.close();
    keepLogs();
    await clusterDown(ROOT);
    rmSync(profile, { recursive: true, force: true });
    if (!process.env['LIFEBOAT_UI_SHOTS']) rmSync(SHOTS, { recursive: true, force: true });
  });

  test('hosts and a checkpointed redis with its history', async () => {
    await docker(
      'run',
      '-d',
      '--name',
      'kv',
      '-e',
      'constraint:node==u1',
      '-l',
      'lifeboat.checkpoint.interval=2s',
      '-l',
      'lifeboat.reschedule=checkpoint',
      'localhost/lifeboat/redis:latest',
    );
    await page.goto(dash.loginUrl);
    assert.equal(new URL(page.url()).search, '', 'the token left the address bar');
    await page.waitForSelector('.host[data-host="u1"][data-status="healthy"]');
    await page.waitForSelector('.host[data-host="u2"][data-status="healthy"]');
    await page.waitForSelector('.host[data-host="u1"] li[data-container="kv"]');
    // a checkpoint shows on the container's line, then in its history
    await page.waitForSelector(
      '.host[data-host="u1"] li[data-container="kv"] .chip:text-matches("^v\\\\d+")',
      { timeout: 20_000 },
    );
    await page.click('li[data-container="kv"]');
    await page.waitForSelector('#detail:not([hidden]) #history tbody tr td:text-matches("^\\\\d+$")', {
      timeout: 20_000,
    });
    assert.match((await page.textContent('#summary')) ?? '', /2 hosts \(2 healthy\) · 1 containers/);
  });

  test("Prometheus' own check passes on the manager's and an agent's metrics; the recovery point stays within interval plus checkpoint time", async () => {
    const manager = await api.request<string>('GET', '/lifeboat/v1/metrics');
    assert.equal(await promtool(manager), '', 'promtool on the manager');
    const agent = await agentMetrics(up.hosts[0]!.address);
    assert.match(agent, /^lifeboat_agent_contact_state\{state="connected"\} 1$/m);
    assert.match(agent, /^lifeboat_agent_checkpoints_total\{outcome="ok"\} [1-9]/m);
    assert.equal(await promtool(agent), '', 'promtool on the agent');
    // 2 s interval: the newest good checkpoint is never older than the interval plus one checkpoint's time
    const samples: number[] = [];
    for (let i = 0; i < 6; i++) {
      samples.push(await recoveryPoint('kv'));
      await new Promise((r) => setTimeout(r, 500));
    }
    // the checkpoints that ran meanwhile, finished by now (one under way at the last sample included)
    await new Promise((r) => setTimeout(r, 3000));
    const evs = await api.request<{ type: string; container?: string; fields?: { durationMs?: number } }[]>(
      'GET',
      '/lifeboat/v1/events?container=kv',
    );
    const slowest = Math.max(
      ...evs.filter((e) => e.type === 'checkpoint.done').map((e) => Number(e.fields?.durationMs ?? 0)),
    );
    for (const rp of samples)
      assert.ok(
        rp < 2 + (slowest + 1000) / 1000,
        `recovery point ${rp} s (samples ${samples.join(', ')}; slowest checkpoint ${slowest} ms)`,
      );
  });

  test('a migration started from the page shows its steps and lands on the other host', async () => {
    await page.selectOption('#migrate-to', 'u2');
    await page.click('#migrate-button');
    const result = await page.waitForSelector('#steps li.result', { timeout: 60_000 });
    assert.match((await result.textContent()) ?? '', /moved to u2 in \d+ ms/);
    assert.ok((await page.$$('#steps li[data-step]')).length >= 8, 'the steps as they ran');
    assert.equal(await page.getAttribute('#steps li[data-step="restore"]', 'data-status'), 'done');
    await page.waitForSelector('.host[data-host="u2"] li[data-container="kv"]');
    await page.screenshot({ path: join(SHOTS, 'dashboard-migrated.png') });
  });

  test('the kill button: the host turns red and the container comes back on the other one', async () => {
    await page.click('.host[data-host="u2"] button[data-action="kill"]');
    // no checkpoint can happen while its host is dead: the data a failure would lose grows
    const first = await recoveryPoint('kv');
    await new Promise((r) => setTimeout(r, 1000));
    const second = await recoveryPoint('kv');
    assert.ok(second >= first + 0.8, `recovery point rose from ${first} s to ${second} s`);
    await page.waitForSelector('.host[data-host="u2"][data-status="failed"]', { timeout: 30_000 });
    await page.waitForSelector('.host[data-host="u1"] li[data-container="kv"]', { timeout: 60_000 });
    await page.waitForSelector('#events li[data-type="node.failed"]');
    await page.waitForSelector('#events li[data-type="restore.done"]', { timeout: 30_000 });
    await page.screenshot({ path: join(SHOTS, 'dashboard-failover.png') });
    if (process.env['LIFEBOAT_UI_SHOTS']) process.stderr.write(`# screenshots in ${SHOTS}\n`);
  });
});
