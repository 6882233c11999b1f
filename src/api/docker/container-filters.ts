import { compileClientRegExp } from '../../util/safe-regexp.ts';
import type { DockerContainerSummary, DockerFilters } from './types.ts';

export const CONTAINER_FILTER_KEYS = ['name', 'id', 'label', 'status'] as const;

/**
 * dockerd's list semantics over summaries from any number of hosts: newest
 * first; only running ones unless `all`, a `limit` or a status filter;
 * values of one filter key OR-ed (labels AND-ed), keys AND-ed.
 */
export function selectContainers(
  containers: DockerContainerSummary[],
  opts: { all: boolean; limit?: number; filters: DockerFilters },
): DockerContainerSummary[] {
  const f = opts.filters;
  const limited = opts.limit !== undefined && opts.limit > 0;
  const everyState = opts.all || limited || (f['status']?.length ?? 0) > 0;
  const out = containers
    .filter((c) => everyState || c.State === 'running')
    .filter((c) => matchesFilters(c, f))
    .sort((a, b) => b.Created - a.Created || a.Id.localeCompare(b.Id));
  return limited ? out.slice(0, opts.limit) : out;
}

export function matchesFilters(c: DockerContainerSummary, f: DockerFilters): boolean {
  const names = f['name'];
  if (names?.length && !names.some((n) => c.Names.some((name) => regexMatch(n, name)))) return false;
  const ids = f['id'];
  if (ids?.length && !ids.some((id) => regexMatch(id, c.Id))) return false;
  const statuses = f['status'];
  if (statuses?.length && !statuses.includes(c.State)) return false;
  const labels = f['label'];
  if (labels?.length && !labels.every((l) => labelMatch(l, c.Labels))) return false;
  return true;
}

/** Docker matches name and id filters as regular expressions (so `web` matches `/web-1`). */
function regexMatch(pattern: string, value: string): boolean {
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch {
    return value.includes(pattern);
  }
  // valid but able to backtrack for ever: a 400, not a frozen manager
  compileClientRegExp(pattern, '', 'filter');
  return re.test(value);
}

function labelMatch(filter: string, labels: Record<string, string>): boolean {
  const eq = filter.indexOf('=');
  if (eq < 0) return Object.hasOwn(labels, filter);
  return labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}

/** `docker container prune`'s filters: labels (`k`, `k=v`, `label!=...`) and `until` (a time the container was created before). */
export function matchesPruneFilters(c: DockerContainerSummary, f: DockerFilters, now: number): boolean {
  for (const l of f['label'] ?? []) {
    const [k = '', v] = l.split('=');
    const has = v === undefined ? k in c.Labels : c.Labels[k] === v;
    if (!has) return false;
  }
  for (const u of f['until'] ?? []) {
    const t = /^\d+$/.test(u) ? Number(u) * 1000 : Date.parse(u);
    const d = /^(\d+)([smh])$/.exec(u);
    const until = d ? now - Number(d[1]) * { s: 1e3, m: 6e4, h: 36e5 }[d[2] as 's' | 'm' | 'h'] : t;
    if (!Number.isFinite(until) || c.Created * 1000 >= until) return false;
  }
  return true;
}
