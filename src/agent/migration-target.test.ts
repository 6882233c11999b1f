import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import type { PeerSource, PrepareMigrationRequest } from '../node-api/node-client.ts';
import { createLogger } from '../util/log.ts';
import { MigrationTarget, type AddressHold } from './migration-target.ts';
import type { PreparedRestore } from './prepared-restore.ts';

// The target's side of a move around the cluster address's packets: held
// from the prepare, handed to the restored container, dropped when the move
// fails or is called off. (Real moves: test/e2e/cluster-network.test.ts.)

function target(opts: { restoreFails?: boolean; holds?: boolean } = {}): {
  t: MigrationTarget;
  calls: string[];
} {
  const calls: string[] = [];
  const restorer = {
    supported: async () => ({ ok: true }),
    create: async () => ({ name: 'kv', id: 'prepared' }),
    receive: async (_c: unknown, input: Readable) => {
      for await (const _chunk of input) {
        // the archive
      }
      return { archiveBytes: 3, tcpEstablished: true };
    },
    restore: async () => {
      calls.push('restore');
      if (opts.restoreFails) throw new Error('criu failed');
      return { result: { id: 'restored-id', stats: {} }, addressKept: true };
    },
    discard: async () => {
      calls.push('discard container');
    },
  } as unknown as PreparedRestore;
  const peer = {
    prepareCheckpoint: async () => ({
      mode: 'prepared',
      configDump: Buffer.from('{}'),
      specDump: Buffer.from('{}'),
      containerId: 'source-id',
      gzipMBps: 100,
    }),
    dumpCheckpoint: async () => {
      calls.push('dump');
      return { archive: Readable.from([Buffer.from('abc')]), dumpMs: 5 };
    },
  } as unknown as PeerSource;
  const addressHold: AddressHold = {
    hold: async (ip) => {
      calls.push(`hold ${ip}`);
      return opts.holds ?? true;
    },
    release: async (ip, id) => {
      calls.push(`release ${ip} to ${id}`);
    },
    unhold: async (ip) => {
      calls.push(`unhold ${ip}`);
    },
  };
  const t = new MigrationTarget({
    restorer,
    restoreArchive: async () => {
      throw new Error('unused');
    },
    dial: () => peer,
    log: createLogger('test', () => undefined),
    addressHold,
  });
  return { t, calls };
}

const req = (grant: string): PrepareMigrationRequest => ({
  grant,
  source: { name: 'a', url: 'https://127.0.0.1:1' },
  container: 'kv',
  compression: 'none',
  clusterAddress: '10.210.0.5',
});

describe('migration target: the packets of a cluster address', () => {
  test('held from the prepare, handed to the restored container', async () => {
    const { t, calls } = target();
    const prepared = await t.prepare(req('g1'));
    assert.equal(prepared.addressHeld, true);
    await t.complete('g1');
    assert.deepEqual(calls, ['hold 10.210.0.5', 'dump', 'restore', 'release 10.210.0.5 to restored-id']);
  });

  test('a failed restore drops them; so does a move called off', async () => {
    const failing = target({ restoreFails: true });
    await failing.t.prepare(req('g2'));
    await assert.rejects(failing.t.complete('g2'));
    assert.deepEqual(failing.calls.slice(-2), ['discard container', 'unhold 10.210.0.5']);
    const off = target();
    await off.t.prepare(req('g3'));
    await off.t.discard('g3');
    assert.deepEqual(off.calls, ['hold 10.210.0.5', 'unhold 10.210.0.5', 'discard container']);
  });

  test('a host that cannot hold says so, and releases nothing', async () => {
    const { t, calls } = target({ holds: false });
    assert.equal((await t.prepare(req('g4'))).addressHeld, undefined);
    await t.complete('g4');
    assert.deepEqual(calls, ['hold 10.210.0.5', 'dump', 'restore']);
  });
});
