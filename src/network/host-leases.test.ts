import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createLogger } from '../util/log.ts';
import { HostLeases, type LeaseHolder } from './host-leases.ts';

describe("a cluster address's stale CNI lease", () => {
  const dir = mkdtempSync(join(tmpdir(), 'lb-leases-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const leases = new HostLeases(createLogger('test'), dir);
  const lease = (ip: string, id: string): string => {
    writeFileSync(join(dir, ip), `${id}\r\neth0`);
    return join(dir, ip);
  };
  const asked: string[] = [];
  const holder =
    (state: LeaseHolder) =>
    async (id: string): Promise<LeaseHolder> => {
      asked.push(id);
      return state;
    };

  test('is released when the container it names is gone (a host back from a power loss)', async () => {
    const file = lease('10.199.0.3', 'abc123');
    assert.equal(await leases.releaseStale('10.199.0.3', holder('gone')), true);
    assert.equal(existsSync(file), false);
    assert.deepEqual(asked, ['abc123']);
  });

  test('is kept while a live container holds it, or when Podman does not say', async () => {
    const file = lease('10.199.0.4', 'def456');
    assert.equal(await leases.releaseStale('10.199.0.4', holder('live')), false);
    assert.equal(await leases.releaseStale('10.199.0.4', holder('unknown')), false);
    assert.equal(existsSync(file), true);
  });

  test('an address without a lease here is left alone', async () => {
    assert.equal(await leases.releaseStale('10.199.0.9', holder('gone')), false);
  });
});
