import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { probeHostCapabilities, type Check, type HostCapabilities } from '../../engine/capabilities.ts';

function mark(c: Check | boolean): string {
  const ok = typeof c === 'boolean' ? c : c.ok;
  return ok ? 'ok  ' : 'FAIL';
}

export function renderDoctor(h: HostCapabilities): string {
  const lines = [
    `podman       ${h.podman.version ?? 'not found (run scripts/provision.sh)'}`,
    `runc         ${h.runc.version ?? 'not found (run scripts/provision.sh)'}`,
    `conmon       ${h.conmon.version ?? 'not found'}`,
    `criu         ${h.criu.version ?? 'not found'} at ${h.criu.path}${h.criu.origin ? ` (${h.criu.origin})` : ''}`,
    `cgroups      ${h.cgroups}`,
    '',
    `[${mark(h.criu.check)}] criu check: ${h.criu.check.detail}`,
    `[${mark(h.criuSelfTest)}] CRIU self-test: ${h.criuSelfTest.detail}`,
    `[${h.softDirty.ok ? 'ok  ' : 'no  '}] soft-dirty tracking (pre-dump): ${h.softDirty.detail}`,
    `[${h.userfaultfd.ok ? 'ok  ' : 'no  '}] userfaultfd: ${h.userfaultfd.detail}`,
    `[info] rlimits: hard nofile=${h.rlimits.nofileHard ?? 'unlimited'} nproc=${h.rlimits.nprocHard ?? 'unlimited'}; ${h.rlimits.note}`,
    '',
    h.canCheckpoint
      ? `This host can checkpoint and restore containers${h.canPreDump ? ', with pre-dump.' : ' (full dumps only: no pre-dump here).'}`
      : 'This host CANNOT checkpoint containers: fix the FAIL lines above (scripts/provision.sh installs a working CRIU).',
  ];
  return lines.join('\n');
}

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description(
      "check this host's container engine and CRIU: versions, a real dump/restore self-test, kernel features",
    )
    .option('--json', 'print the capabilities as JSON')
    .option('--no-self-test', 'skip the dump/restore self-test (criu check only)')
    .option(
      '--fix',
      'install what is missing: Debian packages and a CRIU that passes the self-test (scripts/provision.sh, without npm), then check again',
    )
    .addHelpText(
      'after',
      `
Exit status is 0 when the host can checkpoint and restore, 1 otherwise.
Soft-dirty memory tracking (CONFIG_MEM_SOFT_DIRTY) is needed only for pre-dump
and incremental checkpoints; without it lifeboat takes full dumps and says so.`,
    )
    .action(async (opts: { json?: boolean; selfTest: boolean; fix?: boolean }) => {
      if (opts.fix) {
        const script = fileURLToPath(new URL('../../../scripts/provision.sh', import.meta.url));
        // progress on stderr; --json stays clean
        const r = spawnSync('bash', [script], {
          stdio: ['ignore', process.stderr, process.stderr],
          env: { ...process.env, LIFEBOAT_SKIP_NPM: '1' },
        });
        if (r.status !== 0) {
          process.stderr.write(
            `lifeboat doctor --fix: ${script} failed (exit ${r.status ?? r.signal}); see above\n`,
          );
          process.exitCode = 1;
          return;
        }
      }
      const caps = await probeHostCapabilities({ selfTest: opts.selfTest });
      process.stdout.write((opts.json ? JSON.stringify(caps, null, 2) : renderDoctor(caps)) + '\n');
      process.exitCode = caps.canCheckpoint ? 0 : 1;
    });
}
