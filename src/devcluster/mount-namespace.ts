import { existsSync, mkdirSync, readdirSync, writeFileSync, rmSync, readFileSync } from 'node:fs';
import { sh } from './sh.ts';

/**
 * Persistent private mount namespaces, one per simulated host, kept alive by
 * a bind mount of their nsfs file under NS_DIR (which must itself be a
 * private mount, or unshare refuses to bind the namespace there).
 */
export const NS_DIR = process.env['LIFEBOAT_NS_DIR'] ?? '/run/lifeboat/ns';

/**
 * Paths Podman, runc and CNI hard-code; each host gets its own directory over
 * them so two Podman instances on one machine never see each other's state.
 */
export const PRIVATE_PATHS = [
  '/run/runc',
  '/run/netns',
  '/run/containers/networks',
  // the dnsname CNI plugin's dnsmasq state (names on user-defined networks)
  '/run/containers/cni',
  '/var/lib/cni',
  '/run/cni',
];

function isMountpoint(path: string): boolean {
  try {
    return readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[4] === path);
  } catch {
    return false;
  }
}

async function ensureNsDir(): Promise<void> {
  mkdirSync(NS_DIR, { recursive: true });
  if (!isMountpoint(NS_DIR)) {
    await sh('mount', ['--bind', NS_DIR, NS_DIR]);
    await sh('mount', ['--make-private', NS_DIR]);
  }
}

export function mountNsPath(name: string): string {
  return `${NS_DIR}/${name}.mnt`;
}

/** Creates (or reuses) the host's mount namespace with its private directories bound over PRIVATE_PATHS. */
export async function createMountNamespace(name: string, privateRoot: string): Promise<string> {
  await ensureNsDir();
  const ns = mountNsPath(name);
  if (isMountpoint(ns)) return ns;
  writeFileSync(ns, '');
  await sh('unshare', [`--mount=${ns}`, '--propagation', 'private', 'true']);
  const binds: string[] = [];
  for (const p of PRIVATE_PATHS) {
    mkdirSync(p, { recursive: true });
    const own = `${privateRoot}${p}`;
    mkdirSync(own, { recursive: true });
    // Drop what the copy inherited there first (other hosts' netns mounts under
    // /run/netns would otherwise keep those namespaces alive as long as this one).
    binds.push(`{ while umount -l '${p}' 2>/dev/null; do :; done; mount --bind '${own}' '${p}'; }`);
  }
  await sh('nsenter', [`--mount=${ns}`, 'sh', '-c', binds.join(' && ')]);
  return ns;
}

export async function removeMountNamespace(name: string): Promise<void> {
  const ns = mountNsPath(name);
  if (isMountpoint(ns)) await sh('umount', ['-l', ns], { allowFail: true });
  if (existsSync(ns)) rmSync(ns, { force: true });
  // the last host gone: the machine is left as it was, without NS_DIR's private mount
  if (existsSync(NS_DIR) && !readdirSync(NS_DIR).some((f) => f.endsWith('.mnt'))) {
    if (isMountpoint(NS_DIR)) await sh('umount', ['-l', NS_DIR], { allowFail: true });
    rmSync(NS_DIR, { recursive: true, force: true });
  }
}
