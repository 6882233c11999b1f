import type { Command } from 'commander';
import { readContext } from '../context.ts';
import { ManagerClient } from '../manager-client.ts';

const out = (json: boolean | undefined, r: unknown, text: string): void => {
  process.stdout.write(json ? JSON.stringify(r, null, 2) + '\n' : text + '\n');
};

export function registerCheckpoint(program: Command): void {
  program
    .command('checkpoint <container>')
    .description(
      "dump a container's state (memory, files, sockets) to an archive in a directory (thesis 3.1.1)",
    )
    .requiredOption(
      '--image-dir <dir>',
      'directory for the checkpoint archive (<dir>/<container>.tar), absolute',
    )
    .option('--work-dir <dir>', 'directory for the dump log and CRIU statistics (default: --image-dir)')
    .option('--leave-running', 'keep the container running after the dump')
    .option('--pre-dump', 'pre-dump memory first to shorten the freeze (needs soft-dirty tracking)')
    .option('--pre-image-dir <dir>', 'directory of the previous (pre-dump) image to compare against')
    .option('--track-mem', 'dump only memory changed since the previous image (needs soft-dirty tracking)')
    .option('--no-tcp-established', 'refuse to dump established TCP connections')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Without --leave-running the container stops after the dump; \`lifeboat restore\`
brings it back (on any host). --pre-dump and --track-mem are refused with the
missing kernel feature named where the host has no soft-dirty tracking.`,
    )
    .action(
      async (
        container: string,
        o: {
          imageDir: string;
          workDir?: string;
          leaveRunning?: boolean;
          preDump?: boolean;
          preImageDir?: string;
          trackMem?: boolean;
          tcpEstablished: boolean;
          json?: boolean;
        },
      ) => {
        const c = await ManagerClient.open(readContext());
        const r = await c.request<{ archive: string; bytes: number; ms: number; node: string }>(
          'POST',
          `/lifeboat/v1/containers/${encodeURIComponent(container)}/checkpoint`,
          {
            imageDir: o.imageDir,
            ...(o.workDir ? { workDir: o.workDir } : {}),
            ...(o.preImageDir ? { preImageDir: o.preImageDir } : {}),
            leaveRunning: o.leaveRunning === true,
            preDump: o.preDump === true,
            trackMem: o.trackMem === true,
            tcpEstablished: o.tcpEstablished,
          },
        );
        out(
          o.json,
          r,
          `checkpointed ${container} on ${r.node} to ${r.archive} (${(r.bytes / 1e6).toFixed(1)} MB in ${r.ms} ms)`,
        );
      },
    );

  program
    .command('restore <container>')
    .description('restore a container from an archive taken with `lifeboat checkpoint` (thesis 3.1.1)')
    .requiredOption('--image-dir <dir>', 'directory holding <container>.tar, absolute')
    .option('--work-dir <dir>', 'directory for the restore log (default: --image-dir)')
    .option('--force', 'restore even if a container of that name runs, replacing it')
    .option('--node <host>', 'host to restore on (default: where it was, else a healthy host)')
    .option('--json', 'print the result as JSON')
    .action(
      async (
        container: string,
        o: { imageDir: string; workDir?: string; force?: boolean; node?: string; json?: boolean },
      ) => {
        const c = await ManagerClient.open(readContext());
        const r = await c.request<{ node: string; ms: number; generation: number }>(
          'POST',
          `/lifeboat/v1/containers/${encodeURIComponent(container)}/restore`,
          {
            imageDir: o.imageDir,
            ...(o.workDir ? { workDir: o.workDir } : {}),
            ...(o.node ? { node: o.node } : {}),
            force: o.force === true,
          },
        );
        out(o.json, r, `restored ${container} on ${r.node} in ${r.ms} ms`);
      },
    );
}
