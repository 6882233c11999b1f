import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { promisify } from 'node:util';
import { criuPath } from '../engine/capabilities.ts';

const run = promisify(execFile);

/** The machine a result was measured on: numbers mean nothing without it. */
export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  kernel: string;
  os: string | null;
  criu: string | null;
  podman: string | null;
  node: string;
}

async function versionOf(cmd: string, args: string[], re: RegExp): Promise<string | null> {
  try {
    const { stdout, stderr } = await run(cmd, args, { timeout: 15_000 });
    return re.exec(stdout + stderr)?.[1] ?? null;
  } catch {
    return null;
  }
}

function osName(): string | null {
  if (!existsSync('/etc/os-release')) return null;
  const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
  const debian = existsSync('/etc/debian_version') ? readFileSync('/etc/debian_version', 'utf8').trim() : '';
  return m?.[1] ? `${m[1]}${debian ? ` (${debian})` : ''}` : null;
}

export async function machineInfo(): Promise<MachineInfo> {
  const list = cpus();
  const [criu, podman] = await Promise.all([
    versionOf(criuPath(), ['--version'], /Version:\s*(\S+)/),
    versionOf('podman', ['--version'], /version\s+(\S+)/),
  ]);
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cores: list.length,
    memoryBytes: totalmem(),
    kernel: release(),
    os: osName(),
    criu,
    podman,
    node: process.version,
  };
}

export function describeMachine(m: MachineInfo): string {
  return (
    `${m.cpuModel}, ${m.cores} cores, ${(m.memoryBytes / 2 ** 30).toFixed(1)} GiB, ` +
    `Linux ${m.kernel}${m.os ? `, ${m.os}` : ''}, CRIU ${m.criu ?? '?'}, Podman ${m.podman ?? '?'}, Node ${m.node}`
  );
}
