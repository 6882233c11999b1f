import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { muxFrame } from '../../engine/demux-stream.ts';
import { parsePlatform } from '../../scheduler/platform.ts';
import { ValidationError, errorMessage } from '../../util/errors.ts';
import type { RequestContext } from '../http/context.ts';
import type { Router } from '../http/router.ts';
import type { DockerBackend } from './backend.ts';
import { CONTAINER_FILTER_KEYS } from './container-filters.ts';
import { parseCreateBody } from './create-body.ts';
import type { DockerWaitResponse } from './types.ts';
import {
  parseFilters,
  parseSignal,
  parseStopTimeout,
  parseTail,
  parseWaitCondition,
  validateCheckpointDir,
  validateCheckpointId,
  validateContainerName,
  validateDetachKeys,
} from './validate.ts';

export const MULTIPLEXED_STREAM = 'application/vnd.docker.multiplexed-stream';
export const RAW_STREAM = 'application/vnd.docker.raw-stream';

/** /containers/...: lifecycle, inspect, list, logs, wait, attach. */
/** `?h=&w=` of a resize: rows and columns of a TTY. */
export function ttySize(ctx: RequestContext): { h: number; w: number } {
  const h = ctx.int('h') ?? 0;
  const w = ctx.int('w') ?? 0;
  if (h < 0 || w < 0 || h > 65535 || w > 65535)
    throw new ValidationError('invalid TTY size: h and w are rows and columns from 0 to 65535');
  return { h, w };
}

export function registerContainerRoutes(router: Router, backend: DockerBackend): void {
  router.post('/containers/create', async (ctx) => {
    const raw = ctx.string('name');
    const name = raw === undefined || raw === '' ? undefined : validateContainerName(raw);
    const platform = parsePlatform(ctx.string('platform'));
    const body = parseCreateBody(await ctx.json());
    ctx.send(201, await backend.createContainer(body, name, platform ? { platform } : {}));
  });

  router.get('/containers/json', async (ctx) => {
    const limit = ctx.int('limit');
    const list = await backend.listContainers({
      all: ctx.bool('all'),
      ...(limit !== undefined && limit > 0 ? { limit } : {}),
      filters: parseFilters(ctx.string('filters'), CONTAINER_FILTER_KEYS),
      ...(ctx.bool('size') ? { size: true } : {}),
    });
    ctx.send(200, list);
  });

  router.get('/containers/{id}/json', async (ctx) => {
    ctx.send(200, await backend.inspectContainer(ctx.param('id'), ctx.bool('size') ? { size: true } : {}));
  });

  router.post('/containers/{id}/start', async (ctx) => {
    const checkpoint = ctx.string('checkpoint');
    const dir = validateCheckpointDir(ctx.string('checkpoint-dir'));
    const r = await backend.startContainer(ctx.param('id'), {
      ...(checkpoint ? { checkpoint: validateCheckpointId(checkpoint) } : {}),
      ...(dir ? { checkpointDir: dir } : {}),
    });
    ctx.send(r === 'started' ? 204 : 304);
  });

  router.post('/containers/{id}/stop', async (ctx) => {
    const t = parseStopTimeout(ctx.int('t'));
    const signal = optionalSignal(ctx);
    const r = await backend.stopContainer(ctx.param('id'), {
      ...(t !== undefined ? { timeoutSeconds: t } : {}),
      ...(signal ? { signal } : {}),
    });
    ctx.send(r === 'stopped' ? 204 : 304);
  });

  router.post('/containers/{id}/restart', async (ctx) => {
    const t = parseStopTimeout(ctx.int('t'));
    const signal = optionalSignal(ctx);
    await backend.restartContainer(ctx.param('id'), {
      ...(t !== undefined ? { timeoutSeconds: t } : {}),
      ...(signal ? { signal } : {}),
    });
    ctx.send(204);
  });

  router.post('/containers/{id}/kill', async (ctx) => {
    await backend.killContainer(ctx.param('id'), optionalSignal(ctx) ?? 'SIGKILL');
    ctx.send(204);
  });

  router.post('/containers/{id}/resize', async (ctx) => {
    const { h, w } = ttySize(ctx);
    await backend.resizeContainer(ctx.param('id'), h, w);
    ctx.send(200);
  });

  router.delete('/containers/{id}', async (ctx) => {
    if (ctx.bool('link')) throw new ValidationError('removing links (link=1) is not supported');
    await backend.removeContainer(ctx.param('id'), { force: ctx.bool('force'), volumes: ctx.bool('v') });
    ctx.send(204);
  });

  router.get('/containers/{id}/logs', logs(backend));
  router.post('/containers/{id}/wait', wait(backend));
  router.post('/containers/{id}/attach', attach(backend));
}

function optionalSignal(ctx: RequestContext): string | undefined {
  const s = ctx.string('signal');
  if (s === undefined || s === '') return undefined;
  return parseSignal(s);
}

/** Writes with backpressure; false once the client is gone. */
async function write(out: Writable, data: Buffer): Promise<boolean> {
  if (out.destroyed || out.writableEnded) return false;
  if (!out.write(data)) {
    await Promise.race([once(out, 'drain'), once(out, 'close')]);
  }
  return !out.destroyed;
}

/** What the docker CLI sends for --since/--until: Unix seconds (with nanoseconds) or RFC 3339. */
const LOG_TIME = /^(\d{1,12}(\.\d{1,9})?|\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2}))$/;

function logs(backend: DockerBackend) {
  return async (ctx: RequestContext): Promise<void> => {
    const stdout = ctx.bool('stdout');
    const stderr = ctx.bool('stderr');
    if (!stdout && !stderr) throw new ValidationError('Bad parameters: you must choose at least one stream');
    if (ctx.bool('details'))
      throw new ValidationError(
        'details=1 (docker logs --details) is not supported: no log attributes are kept (the labels and env log options are refused at create)',
        'leave out --details',
      );
    const since = ctx.string('since');
    const until = ctx.string('until');
    for (const [k, v] of [
      ['since', since],
      ['until', until],
    ] as const)
      if (v !== undefined && v !== '' && !LOG_TIME.test(v))
        throw new ValidationError(
          `invalid value for "${k}": "${v}" (a Unix timestamp such as 1700000000.5, or RFC 3339 time)`,
        );
    const stream = await backend.containerLogs(ctx.param('id'), {
      follow: ctx.bool('follow'),
      tail: parseTail(ctx.string('tail')),
      timestamps: ctx.bool('timestamps'),
      ...(since && since !== '0' ? { since } : {}),
      ...(until && until !== '0' ? { until } : {}),
    });
    ctx.res.on('close', () => stream.close());
    ctx.res.writeHead(200, { 'Content-Type': stream.tty ? RAW_STREAM : MULTIPLEXED_STREAM });
    ctx.res.flushHeaders();
    try {
      for await (const f of stream.frames) {
        if (f.stream === 'stdin') continue;
        if ((f.stream === 'stdout' && !stdout) || (f.stream === 'stderr' && !stderr)) continue;
        const ok = await write(ctx.res, stream.tty ? f.data : muxFrame(f.stream, f.data));
        if (!ok) break;
      }
    } catch (err) {
      // the client closing a follow tears the source down too: not an error
      if (!ctx.res.destroyed) throw err;
    }
    ctx.res.end();
  };
}

/**
 * The status line goes out as soon as the wait is in place: `docker run`
 * starts the container only after it has seen it. The body (exit code)
 * follows when the condition is met, or an Error field if the wait broke.
 */
function wait(backend: DockerBackend) {
  return async (ctx: RequestContext): Promise<void> => {
    const condition = parseWaitCondition(ctx.string('condition'));
    const abort = new AbortController();
    ctx.res.on('close', () => {
      if (!ctx.res.writableFinished) abort.abort();
    });
    const handle = await backend.waitContainer(ctx.param('id'), condition, abort.signal);
    ctx.res.writeHead(200, { 'Content-Type': 'application/json' });
    ctx.res.flushHeaders();
    let answer: DockerWaitResponse;
    try {
      answer = await handle.result;
    } catch (err) {
      if (abort.signal.aborted) return;
      answer = { StatusCode: -1, Error: { Message: errorMessage(err) } };
    }
    ctx.res.end(JSON.stringify(answer) + '\n');
  };
}

function attach(backend: DockerBackend) {
  return async (ctx: RequestContext): Promise<void> => {
    const opts = {
      stream: ctx.bool('stream'),
      logs: ctx.bool('logs'),
      stdin: ctx.bool('stdin'),
      stdout: ctx.bool('stdout'),
      stderr: ctx.bool('stderr'),
      ...(ctx.string('detachKeys')
        ? { detachKeys: validateDetachKeys(ctx.string('detachKeys') as string) }
        : {}),
    };
    const { tty, stream } = await backend.attachContainer(ctx.param('id'), opts);
    const conn = ctx.hijack(tty ? RAW_STREAM : MULTIPLEXED_STREAM);
    stream.on('error', () => conn.destroy());
    conn.output.on('error', () => stream.destroy());
    conn.output.on('close', () => stream.destroy());
    stream.pipe(conn.output);
    if (opts.stdin && ctx.upgrade) {
      conn.input.pipe(stream);
    } else {
      conn.input.resume();
    }
  };
}
