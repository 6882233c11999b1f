import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { etcdSampleOf, parseProcStat, parsePrometheus, percentile } from './scale-probes.ts';

describe('scale probes', () => {
  test('percentile is the nearest rank', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(percentile(v, 0.5), 50);
    assert.equal(percentile(v, 0.99), 99);
    assert.equal(percentile([7], 0.99), 7);
    assert.ok(Number.isNaN(percentile([], 0.5)));
  });

  test('/proc/<pid>/stat: CPU seconds and RSS, a command name with spaces and parentheses', () => {
    // fields 3.. after the command: state, then field 4 onwards; utime 14, stime 15, rss 24
    const after = Array.from({ length: 50 }, () => '0');
    after[0] = 'S';
    after[11] = '250';
    after[12] = '50';
    after[21] = '1000';
    const p = parseProcStat(`4242 (node (main) x) ${after.join(' ')}`);
    assert.equal(p.cpuSeconds, 3);
    assert.equal(p.rssBytes, 1000 * 4096);
  });

  test('etcd metrics: writes, bytes and database size summed over labels', () => {
    const m = parsePrometheus(
      [
        '# HELP etcd_mvcc_put_total Total number of puts seen by this member.',
        'etcd_mvcc_put_total 120',
        'etcd_mvcc_delete_total 5',
        'etcd_mvcc_txn_total 30',
        'etcd_network_client_grpc_received_bytes_total{type="unary"} 1000',
        'etcd_network_client_grpc_received_bytes_total{type="stream"} 24',
        'etcd_network_client_grpc_sent_bytes_total 2048',
        'etcd_mvcc_db_total_size_in_bytes 4.194304e+06',
      ].join('\n'),
    );
    const s = etcdSampleOf(m, 1);
    assert.equal(s.writes, 155);
    assert.equal(s.receivedBytes, 1024);
    assert.equal(s.sentBytes, 2048);
    assert.equal(s.dbBytes, 4194304);
  });
});
