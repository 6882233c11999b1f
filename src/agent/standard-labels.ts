import { readFileSync } from 'node:fs';
import { machine, release } from 'node:os';
import { NodeLabel } from '../scheduler/index.ts';

/**
 * The labels every host carries without being given them, as classic
 * Swarm's engines did (its "default tags"): constraints such as
 * `constraint:architecture==aarch64` or `constraint:kernelversion==6.*`
 * work on them, and `docker run --platform` becomes one. An operator's
 * own `--label` of the same name wins. `storagedriver` comes from Podman
 * (node-service.ts asks it once).
 */
export function standardLabels(): Record<string, string> {
  return {
    [NodeLabel.architecture]: machine(),
    [NodeLabel.kernelVersion]: release(),
    [NodeLabel.operatingSystem]: osName(),
    ostype: 'linux',
  };
}

/** /etc/os-release's PRETTY_NAME, as `docker info` shows it ("Debian GNU/Linux 12 (bookworm)"). */
function osName(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'));
    return m?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}
