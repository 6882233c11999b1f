import { ValidationError } from '../../util/errors.ts';
import { insertTopLevelMember, pathIs, rewriteJsonStrings, type JsonPath } from './json-strings.ts';

/**
 * The host-specific places a checkpoint archive remembers: Podman's runroot
 * (conmon/pid files, hosts, resolv.conf), graphroot (container storage,
 * /dev/shm, the overlay root) and the container cgroup parent.
 */
export interface HostPaths {
  runroot: string;
  graphroot: string;
  cgroupParent: string;
}

/** What could be learnt about the source host; any part may be unknown. */
export type SourceHostPaths = Partial<HostPaths>;

export interface JsonRewrite {
  text: string;
  /** String values changed. */
  changed: number;
  warnings: string[];
  /** linux.cgroupsPath before and after, when it changed. */
  cgroupsPath?: { from: string; to: string };
}

const trimSlash = (p: string): string => (p.length > 1 ? p.replace(/\/+$/, '') : p);

/** A target must be a clean absolute path set, or restores would land in odd places. */
export function checkTargetPaths(target: HostPaths): HostPaths {
  const out = {
    runroot: trimSlash(target.runroot),
    graphroot: trimSlash(target.graphroot),
    cgroupParent: trimSlash(target.cgroupParent),
  };
  for (const key of ['runroot', 'graphroot'] as const) {
    const p = out[key];
    if (!p.startsWith('/') || p === '/' || p.includes('\0') || p.split('/').includes('..')) {
      throw new ValidationError(`target ${key} must be an absolute directory path, got ${JSON.stringify(p)}`);
    }
  }
  const cg = out.cgroupParent;
  if (
    cg === '' ||
    cg.includes('\0') ||
    cg.split('/').includes('..') ||
    !(cg.startsWith('/') || cg.endsWith('.slice'))
  ) {
    throw new ValidationError(
      `target cgroupParent must be an absolute cgroup path or a systemd slice, got ${JSON.stringify(cg)}`,
      'Use the cgroup_parent Podman runs containers under on the target host, e.g. /lifeboat_node2.',
    );
  }
  return out;
}

/**
 * Podman keeps per-container files at `<root>/<driver>-containers/<id>/userdata/...`;
 * the root is whatever precedes that.
 */
export function storageRootOf(path: unknown, containerId: string): string | undefined {
  if (typeof path !== 'string' || containerId === '') return undefined;
  const marker = `-containers/${containerId}/userdata`;
  const at = path.indexOf(marker);
  if (at < 0) return undefined;
  const after = path.slice(at + marker.length);
  if (after !== '' && !after.startsWith('/')) return undefined;
  const slash = path.lastIndexOf('/', at);
  if (slash <= 0) return undefined;
  const driver = path.slice(slash + 1, at);
  return /^[a-z0-9]+$/.test(driver) ? path.slice(0, slash) : undefined;
}

/** `/lifeboat_n1/libpod-<id>` -> `/lifeboat_n1` (cgroupfs); `machine.slice:libpod:<id>` -> `machine.slice` (systemd). */
export function cgroupParentOf(cgroupsPath: unknown, containerId: string): string | undefined {
  if (typeof cgroupsPath !== 'string') return undefined;
  const systemd = /^([^:/]+\.slice):[^:]*:.+$/.exec(cgroupsPath);
  if (systemd) return systemd[1];
  const suffix = `/libpod-${containerId}`;
  if (containerId !== '' && cgroupsPath.endsWith(suffix)) return cgroupsPath.slice(0, -suffix.length) || '/';
  return undefined;
}

function prefixRewriter(source: SourceHostPaths, target: HostPaths): (value: string) => string | undefined {
  const pairs: Array<[string, string]> = [];
  for (const key of ['runroot', 'graphroot'] as const) {
    const from = source[key];
    if (from !== undefined && from !== '/' && from !== '' && from !== target[key])
      pairs.push([trimSlash(from), target[key]]);
  }
  // The longer source wins when one root lies inside the other.
  pairs.sort((a, b) => b[0].length - a[0].length);
  return (value) => {
    for (const [from, to] of pairs) {
      if (value === from || value.startsWith(from + '/')) return to + value.slice(from.length);
    }
    return undefined;
  };
}

function rewriteCgroupsPath(value: string, from: string | undefined, to: string): string | undefined {
  if (from === undefined) return undefined;
  if (value.startsWith(from + '/') || value.startsWith(from + ':')) return to + value.slice(from.length);
  return undefined;
}

function rewriteDocument(
  text: string,
  source: SourceHostPaths,
  target: HostPaths,
  cgroupsPathAt: JsonPath[],
  special?: (path: JsonPath) => string | undefined,
): JsonRewrite {
  const prefix = prefixRewriter(source, target);
  const warnings: string[] = [];
  let cgroupsPath: { from: string; to: string } | undefined;
  const result = rewriteJsonStrings(text, (path, value) => {
    const fixed = special?.(path);
    if (fixed !== undefined) return fixed;
    if (cgroupsPathAt.some((p) => pathIs(path, ...p))) {
      const next = rewriteCgroupsPath(value, source.cgroupParent, target.cgroupParent);
      if (next === undefined) {
        if (!value.startsWith(target.cgroupParent + '/') && !value.startsWith(target.cgroupParent + ':')) {
          warnings.push(
            `${path.join('.')} ${JSON.stringify(value)} is not under the source cgroup parent ` +
              `${JSON.stringify(source.cgroupParent ?? '(unknown)')}; left unchanged`,
          );
        }
        return undefined;
      }
      if (next !== value && pathIs(path, 'linux', 'cgroupsPath')) cgroupsPath = { from: value, to: next };
      return next;
    }
    return prefix(value);
  });
  return { text: result.text, changed: result.changed, warnings, ...(cgroupsPath ? { cgroupsPath } : {}) };
}

/**
 * config.dump (libpod's ContainerConfig): host roots swapped in every string,
 * cgroupParent set to the target's. libpod resets conmonPidFile and pid_file
 * on restore only when they start with the *local* runroot, so leaving the
 * source's runroot there would point them at the other host's directories.
 */
export function rewriteConfigDump(text: string, source: SourceHostPaths, target: HostPaths): JsonRewrite {
  let sawCgroupParent = false;
  const out = rewriteDocument(text, source, target, [['spec', 'linux', 'cgroupsPath']], (path) => {
    if (!pathIs(path, 'cgroupParent')) return undefined;
    sawCgroupParent = true;
    return target.cgroupParent;
  });
  if (!sawCgroupParent) {
    out.text = insertTopLevelMember(out.text, 'cgroupParent', target.cgroupParent);
    out.changed++;
  }
  return out;
}

/** spec.dump (the OCI runtime spec runc restores with): host roots and the cgroup parent of linux.cgroupsPath. */
export function rewriteSpecDump(text: string, source: SourceHostPaths, target: HostPaths): JsonRewrite {
  return rewriteDocument(text, source, target, [['linux', 'cgroupsPath']]);
}
