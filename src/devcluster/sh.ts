import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { LifeboatError } from '../util/errors.ts';

const run = promisify(execFile);

/** Runs a host command; failures carry the command and its stderr. */
export async function sh(
  cmd: string,
  args: string[],
  opts: { allowFail?: boolean; timeoutMs?: number } = {},
): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { timeout: opts.timeoutMs ?? 60_000, maxBuffer: 16 << 20 });
    return stdout;
  } catch (err) {
    if (opts.allowFail) return '';
    const e = err as { stderr?: string; message: string };
    throw new LifeboatError(
      'host_command_failed',
      `${cmd} ${args.join(' ')}: ${(e.stderr ?? e.message).trim()}`,
    );
  }
}
