import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { criuLogErrors } from './criu-log.ts';

test("CRIU's log: its error lines, not its RLIMIT notices; nothing for no log or an older one", () => {
  const dir = mkdtempSync(join(tmpdir(), 'criu-log-'));
  try {
    const log = join(dir, 'dump.log');
    writeFileSync(
      log,
      [
        '(00.000010) Version: 4.2.1',
        '(00.000020) Error (criu/util.c:123): RLIMIT_NOFILE raised',
        '(00.003000) Error (criu/sk-inet.c:198): inet: In-flight connection (l) for 7',
        '(00.003100) Error (criu/cr-dump.c:1660): Dump files (pid: 12) failed with -1',
      ].join('\n'),
    );
    assert.deepEqual(criuLogErrors(log), [
      '(00.003000) Error (criu/sk-inet.c:198): inet: In-flight connection (l) for 7',
      '(00.003100) Error (criu/cr-dump.c:1660): Dump files (pid: 12) failed with -1',
    ]);
    assert.equal(criuLogErrors(join(dir, 'restore.log')), undefined);
    const old = new Date(Date.now() - 60_000);
    utimesSync(log, old, old);
    assert.equal(criuLogErrors(log, { since: Date.now() }), undefined, 'a log from before this dump');
    assert.equal(criuLogErrors(log, { since: Date.now() - 120_000 })?.length, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
