/**
 * Which libpod routes the node API's Podman proxy passes on. The proxy is
 * root on the host for whoever holds a manager certificate, so it passes
 * only what managers need to run containers; anything that brings state
 * in from outside (restore with import) must go through the /v1 endpoints
 * that validate archives first.
 *
 * Paths are those after `/podman`: `/v4.0.0/libpod/containers/web/start`.
 */
export type ProxyDecision =
  | {
      allow: true;
      /** The matched pattern, e.g. `POST /libpod/containers/{name}/start`. */
      route: string;
      /** The create body gets this host's cgroup parent (as NodeService.create does). */
      setsCgroupParent: boolean;
    }
  | { allow: false; status: 400 | 403; message: string; hint: string };

interface Rule {
  method: string;
  /** Segments after the API prefix; `{name}` a container or volume, `{net}` a user-defined network, `{ref}` an image reference, `{exec}` an exec session. */
  segments: string[];
  upgrade?: boolean;
  setsCgroupParent?: boolean;
  /** Docker-compatible path (`/v1.41/...`) instead of libpod's. */
  compat?: boolean;
}

const RULES: Rule[] = [
  { method: 'GET', segments: ['_ping'] },
  { method: 'GET', segments: ['version'] },
  { method: 'GET', segments: ['info'] },
  { method: 'POST', segments: ['containers', 'create'], setsCgroupParent: true },
  { method: 'GET', segments: ['containers', 'json'] },
  { method: 'POST', segments: ['containers', '{name}', 'start'] },
  { method: 'POST', segments: ['containers', '{name}', 'stop'] },
  { method: 'POST', segments: ['containers', '{name}', 'kill'] },
  { method: 'POST', segments: ['containers', '{name}', 'restart'] },
  { method: 'POST', segments: ['containers', '{name}', 'resize'] },
  { method: 'POST', segments: ['containers', '{name}', 'exec'] },
  { method: 'POST', segments: ['containers', '{name}', 'pause'] },
  { method: 'POST', segments: ['containers', '{name}', 'unpause'] },
  { method: 'POST', segments: ['containers', '{name}', 'rename'] },
  { method: 'POST', segments: ['containers', '{name}', 'update'] },
  { method: 'GET', segments: ['containers', '{name}', 'top'] },
  { method: 'GET', segments: ['containers', '{name}', 'changes'] },
  { method: 'GET', segments: ['containers', '{name}', 'stats'] },
  { method: 'GET', segments: ['containers', '{name}', 'archive'] },
  { method: 'PUT', segments: ['containers', '{name}', 'archive'] },
  { method: 'GET', segments: ['containers', '{name}', 'export'] },
  { method: 'POST', segments: ['images', '{ref}', 'tag'] },
  { method: 'DELETE', segments: ['images', '{ref}'] },
  { method: 'GET', segments: ['images', '{ref}', 'history'] },
  { method: 'GET', segments: ['networks', 'json'] },
  // user-defined networks and named volumes of the cluster (node-local; the manager keeps their records)
  { method: 'POST', segments: ['networks', 'create'] },
  { method: 'GET', segments: ['networks', '{net}', 'json'] },
  { method: 'DELETE', segments: ['networks', '{net}'] },
  { method: 'POST', segments: ['networks', '{net}', 'connect'] },
  { method: 'POST', segments: ['networks', '{net}', 'disconnect'] },
  { method: 'POST', segments: ['volumes', 'create'] },
  { method: 'GET', segments: ['volumes', 'json'] },
  { method: 'GET', segments: ['volumes', '{name}', 'json'] },
  { method: 'DELETE', segments: ['volumes', '{name}'] },
  { method: 'GET', segments: ['events'] },
  { method: 'POST', segments: ['exec', '{exec}', 'start'], upgrade: true },
  { method: 'GET', segments: ['exec', '{exec}', 'json'] },
  { method: 'POST', segments: ['exec', '{exec}', 'resize'] },
  { method: 'DELETE', segments: ['containers', '{name}'] },
  { method: 'GET', segments: ['containers', '{name}', 'json'] },
  { method: 'GET', segments: ['containers', '{name}', 'logs'] },
  { method: 'POST', segments: ['containers', '{name}', 'wait'] },
  { method: 'GET', segments: ['containers', '{name}', 'exists'] },
  { method: 'POST', segments: ['containers', '{name}', 'attach'], upgrade: true },
  { method: 'GET', segments: ['images', 'json'] },
  { method: 'GET', segments: ['images', '{ref}', 'exists'] },
  { method: 'GET', segments: ['images', '{ref}', 'json'] },
  { method: 'GET', segments: ['images', '{ref}', 'get'] },
  { method: 'POST', segments: ['images', 'load'] },
  // Docker's wait semantics (next-exit) exist only on the compatible API.
  { method: 'POST', segments: ['containers', '{name}', 'wait'], compat: true },
  // Registry pull and push answer Docker's own progress stream there (X-Registry-Auth passed through).
  { method: 'POST', segments: ['images', 'create'], compat: true },
  { method: 'POST', segments: ['images', '{ref}', 'push'], compat: true },
  { method: 'POST', segments: ['auth'], compat: true },
  { method: 'GET', segments: ['images', 'search'], compat: true },
];

const VERSION = /^v\d+(\.\d+){0,2}$/;
const CONTAINER_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;
const EXEC_ID = /^[0-9a-f]{64}$/;
const IMAGE_REF = /^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,510}$/;

const MOVED: Record<string, string> = {
  restore:
    'restore goes through POST /v1/restore (the archive is validated and rewritten for this host first)',
  checkpoint: 'checkpoints go through POST /v1/containers/{name}/checkpoint or .../checkpoint-to-store',
};

function forbidden(method: string, path: string, why?: string): ProxyDecision {
  return {
    allow: false,
    status: 403,
    message: `${method} ${path} is not allowed through the node API's Podman proxy${why ? `: ${why}` : ''}`,
    hint: 'the proxy passes only the container and image routes managers need; see src/agent/README.md',
  };
}

function invalid(message: string): ProxyDecision {
  return {
    allow: false,
    status: 400,
    message,
    hint: 'percent-encode names; "/" only inside image references',
  };
}

/** Decides about one proxied request (`rawPath` without the query string). */
export function decidePodmanRoute(method: string, rawPath: string, upgrade: boolean): ProxyDecision {
  const m = method.toUpperCase();
  const raw = rawPath.split('/').filter((s, i) => !(i === 0 && s === ''));
  const parts: string[] = [];
  for (const r of raw) {
    let s: string;
    try {
      s = decodeURIComponent(r);
    } catch {
      return invalid(`invalid percent-encoding in path segment ${JSON.stringify(r)}`);
    }
    if (s === '' || s.includes('..') || s.includes('\0') || s.includes('\\'))
      return invalid(`invalid path segment ${JSON.stringify(s)}`);
    parts.push(s);
  }
  let rest = parts;
  if (rest[0] !== undefined && VERSION.test(rest[0])) rest = rest.slice(1);
  const compat = rest[0] !== 'libpod';
  if (!compat) rest = rest.slice(1);
  const effective = m === 'HEAD' ? 'GET' : m;
  for (const rule of RULES) {
    if ((rule.compat ?? false) !== compat || rule.method !== effective) continue;
    if (rule.segments.length !== rest.length) continue;
    if (!rule.segments.every((seg, i) => seg.startsWith('{') || seg === rest[i])) continue;
    for (let i = 0; i < rest.length; i++) {
      const seg = rule.segments[i]!;
      const part = rest[i]!;
      if (seg === '{name}' && !CONTAINER_NAME.test(part))
        return invalid(`invalid container name ${JSON.stringify(part)}`);
      if (seg === '{ref}' && (!IMAGE_REF.test(part) || part.includes('//')))
        return invalid(`invalid image reference ${JSON.stringify(part)}`);
      if (seg === '{net}' && (!CONTAINER_NAME.test(part) || part === 'podman'))
        return invalid(
          `invalid network name ${JSON.stringify(part)} (the host's own network "podman" is not the cluster's)`,
        );
      if (seg === '{exec}' && !EXEC_ID.test(part)) return invalid(`invalid exec ID ${JSON.stringify(part)}`);
    }
    if (upgrade && !rule.upgrade)
      return forbidden(m, rawPath, 'only attach and exec start may upgrade the connection');
    return {
      allow: true,
      route: `${rule.method} /${compat ? '' : 'libpod/'}${rule.segments.join('/')}`,
      setsCgroupParent: rule.setsCgroupParent ?? false,
    };
  }
  const last = rest[rest.length - 1] ?? '';
  const why = rest[0] === 'containers' || rest[0] === 'images' ? MOVED[last] : undefined;
  return forbidden(m, rawPath, why);
}
