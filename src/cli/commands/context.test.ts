import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

const run = promisify(execFile);
const MAIN = resolve(import.meta.dirname, '../main.ts');

test('lifeboat context: save clusters by name, list them, switch; bad input named', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'lb-ctx-'));
  const current = join(dir, 'context.json');
  const env = { ...process.env, LIFEBOAT_CONTEXT: current };
  const lifeboat = async (...args: string[]): Promise<string> =>
    (await run(process.execPath, ['--import', 'tsx', MAIN, ...args], { env })).stdout;
  try {
    writeFileSync(
      current,
      JSON.stringify({ managerUrl: 'https://10.0.0.1:7440', pkiDir: '/p', dockerHost: 'unix:///d' }),
    );
    await lifeboat('context', 'create', 'local', '--from-current');
    await lifeboat(
      'context',
      'create',
      'prod',
      '--manager',
      'https://10.1.0.1:7440,https://10.1.0.2:7440',
      '--pki',
      '/pki/alice',
      '--docker-host',
      'tcp://10.1.0.1:2376',
    );
    assert.deepEqual(JSON.parse(await lifeboat('context', 'ls', '--json')), {
      current: null,
      contexts: ['local', 'prod'],
    });
    await lifeboat('context', 'use', 'prod');
    const now = JSON.parse(readFileSync(current, 'utf8')) as Record<string, unknown>;
    assert.deepEqual(now['managerUrls'], ['https://10.1.0.1:7440', 'https://10.1.0.2:7440']);
    assert.equal(now['name'], 'prod');
    assert.match(
      await lifeboat('context', 'ls'),
      /^\* prod {2}https:\/\/10\.1\.0\.1:7440,https:\/\/10\.1\.0\.2:7440$/m,
    );
    await assert.rejects(lifeboat('context', 'use', 'nope'), /no saved context nope/);
    await assert.rejects(
      lifeboat('context', 'create', 'x', '--manager', 'http://10.0.0.1:7440', '--pki', '/p'),
      /use https:\/\/HOST:PORT/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
