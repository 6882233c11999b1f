import type { Router } from '../http/router.ts';
import { ValidationError } from '../../util/errors.ts';
import type { DockerBackend } from './backend.ts';
import type { DockerFilters } from './types.ts';
import { parseFilters } from './validate.ts';

/** One entry of GET /events, as dockerd writes it. */
export interface DockerEvent {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local' | 'swarm';
  time: number;
  timeNano: number;
  /** Legacy fields of container events. */
  status?: string;
  id?: string;
  from?: string;
}

export interface EventsOptions {
  /** Unix seconds: replay what happened since then. */
  since?: number;
  /** Unix seconds: end the stream then (at once when it has passed). */
  until?: number;
  filters: DockerFilters;
}

export const EVENT_FILTER_KEYS = ['container', 'event', 'type', 'node', 'image', 'label'];

/** Docker's `--since`/`--until`: Unix seconds (with a fraction) or an RFC 3339 time. */
export function parseEventTime(raw: string | undefined, name: string): number | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (/^\d{1,12}(\.\d{1,9})?$/.test(raw)) return Number(raw);
  const t = Date.parse(raw);
  if (!Number.isFinite(t))
    throw new ValidationError(`invalid value for "${name}": "${raw}" (Unix seconds, or an RFC 3339 time)`);
  return t / 1000;
}

/** dockerd's filter semantics: values of one key OR-ed, keys AND-ed. */
export function matchesEventFilters(e: DockerEvent, f: DockerFilters): boolean {
  const any = (key: string, test: (v: string) => boolean): boolean => {
    const values = f[key];
    return !values?.length || values.some(test);
  };
  const a = e.Actor.Attributes;
  return (
    any('type', (v) => v === e.Type) &&
    any('event', (v) => v === e.Action || e.Action.startsWith(`${v}:`)) &&
    any('container', (v) => e.Type === 'container' && (v === a['name'] || e.Actor.ID.startsWith(v))) &&
    any('node', (v) => v === a['node']) &&
    any('image', (v) => v === a['image'] || v === e.from) &&
    any('label', (v) => {
      const [k = '', val] = v.split('=');
      return val === undefined ? k in a : a[k] === val;
    })
  );
}

export function registerEventRoutes(router: Router, backend: DockerBackend): void {
  router.get('/events', async (ctx) => {
    const since = parseEventTime(ctx.string('since'), 'since');
    const until = parseEventTime(ctx.string('until'), 'until');
    const filters = parseFilters(ctx.string('filters'), EVENT_FILTER_KEYS);
    const abort = new AbortController();
    ctx.res.on('close', () => abort.abort());
    const events = await backend.events(
      { ...(since !== undefined ? { since } : {}), ...(until !== undefined ? { until } : {}), filters },
      abort.signal,
    );
    ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
    ctx.res.flushHeaders();
    try {
      for await (const e of events) {
        if (!matchesEventFilters(e, filters)) continue;
        if (!ctx.res.write(JSON.stringify(e) + '\n')) await new Promise((r) => ctx.res.once('drain', r));
      }
    } catch (err) {
      if (!abort.signal.aborted) throw err;
    }
    ctx.res.end();
  });
}
