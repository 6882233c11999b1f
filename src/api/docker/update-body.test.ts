import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseUpdateBody, updateResources } from './daily.ts';

describe('docker update body', () => {
  test('what `docker update --memory 64m --cpus 0.5` sends: the set fields, the rest at zero', () => {
    const b = parseUpdateBody({
      Memory: 64 * 1024 * 1024,
      NanoCpus: 500_000_000,
      CpuShares: 0,
      CpusetCpus: '',
      MemorySwap: 0,
      MemorySwappiness: -1,
      RestartPolicy: { Name: '', MaximumRetryCount: 0 },
      pidslimit: null,
    });
    assert.deepEqual(b, { Memory: 64 * 1024 * 1024, NanoCpus: 500_000_000 });
    assert.deepEqual(updateResources(b), {
      memory: { limit: 67108864 },
      cpu: { period: 100_000, quota: 50_000 },
    });
    assert.deepEqual(parseUpdateBody(undefined), {});
  });

  test('wrong values, and what Podman cannot change live, are 400s naming the field', () => {
    const cases: [unknown, RegExp][] = [
      [{ Memory: 'lots' }, /Memory must be an integer/],
      [{ CpuShares: 1.5 }, /CpuShares must be an integer/],
      [{ CpusetCpus: 'x' }, /CpusetCpus: invalid set "x"/],
      [{ CpusetCpus: 1 }, /CpusetCpus must be a string/],
      [{ CpuShares: -1 }, /CpuShares must not be negative/],
      [{ Memory: 1000 }, /Minimum memory limit allowed is 6MB/],
      [{ NanoCpus: 1e9, CpuQuota: 5000 }, /Conflicting options/],
      [{ RestartPolicy: { Name: 'always' } }, /RestartPolicy is not supported by update/],
      [[], /body must be a JSON object/],
    ];
    for (const [body, re] of cases) assert.throws(() => parseUpdateBody(body), re, JSON.stringify(body));
  });
});
