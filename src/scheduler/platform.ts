import { ValidationError } from '../util/errors.ts';
import { NodeLabel } from './types.ts';

/*
 * Docker's `platform` (`docker run --platform linux/arm64`, compose's
 * `platform:`, DOCKER_DEFAULT_PLATFORM): os[/arch[/variant]] in Go's names.
 * Hosts say their architecture as the kernel does (`uname -m`, the
 * `architecture` node label classic Swarm had), so a platform becomes the
 * constraint `architecture==<uname -m>`.
 */

/** Go's GOARCH (and variant) as `uname -m` says it. */
const MACHINE: Record<string, string> = {
  amd64: 'x86_64',
  arm64: 'aarch64',
  'arm/v7': 'armv7l',
  'arm/v6': 'armv6l',
  '386': 'i686',
  ppc64le: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  mips64le: 'mips64',
};

export interface Platform {
  /** As the client wrote it, for messages. */
  raw: string;
  os: string;
  /** `uname -m` of the hosts that can run it; absent when only the OS was named. */
  machine?: string;
}

/** The `platform` query value: undefined when absent or empty; a 400 naming it when lifeboat cannot honour it. */
export function parsePlatform(raw: string | undefined): Platform | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const parts = raw.trim().toLowerCase().split('/');
  const [os, arch, variant] = parts;
  if (parts.length > 3 || !os || parts.some((p) => p === ''))
    throw new ValidationError(`invalid platform "${raw}"`, 'use os[/arch[/variant]], e.g. linux/amd64');
  if (os !== 'linux')
    throw new ValidationError(
      `platform "${raw}": lifeboat's hosts run Linux containers only`,
      'leave out --platform, or name linux/<arch>',
    );
  if (!arch) return { raw, os };
  // arm64/v8 is arm64; arm without a variant is v7, as Docker reads it; any other variant is unknown
  const key =
    arch === 'arm'
      ? `arm/${variant ?? 'v7'}`
      : arch === 'arm64' && variant === 'v8'
        ? 'arm64'
        : variant
          ? `${arch}/${variant}`
          : arch;
  const machine = MACHINE[key];
  if (!machine)
    throw new ValidationError(
      `platform "${raw}": unknown architecture`,
      `known: ${Object.keys(MACHINE).join(', ')}`,
    );
  return { raw, os, machine };
}

/** The Swarm constraint a platform asks for (an env entry the scheduler reads), if any. */
export function platformConstraint(p: Platform | undefined): string | undefined {
  return p?.machine ? `constraint:${NodeLabel.architecture}==${p.machine}` : undefined;
}
