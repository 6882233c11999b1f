import type { Router } from '../http/router.ts';
import type { RequestContext } from '../http/context.ts';
import { ValidationError } from '../../util/errors.ts';
import type { DockerBackend } from './backend.ts';
import { MULTIPLEXED_STREAM, RAW_STREAM, ttySize } from './containers.ts';
import { z } from 'zod';
import { parseBody } from '../../util/schema.ts';
import { bool, closed, consoleSize, consoleSizeOf, str, strList } from './wire.ts';
import { validateDetachKeys } from './validate.ts';

/**
 * `docker exec`: create a session in a running container, start it attached
 * (the connection is hijacked: multiplexed frames out, stdin in) or
 * detached, inspect it for its exit code, resize its TTY. On the cluster the
 * session lives on the container's current host.
 */

/** Body of POST /containers/{id}/exec. */
export interface DockerExecCreateBody {
  Cmd: string[];
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  DetachKeys?: string;
  Tty?: boolean;
  ConsoleSize?: [number, number];
  Env?: string[];
  Privileged?: boolean;
  User?: string;
  WorkingDir?: string;
}

/** Body of POST /exec/{id}/start. */
export interface DockerExecStartBody {
  Detach: boolean;
  Tty: boolean;
  ConsoleSize?: [number, number];
}

/**
 * Docker's ExecConfig, declared once (src/util/schema.ts). Two fields only
 * clients act on: `Detach` (the start body's decides, as in dockerd) and
 * `Container` (docker-py repeats the path's container in the body).
 */
const ExecCreateSchema = closed(
  {
    Detach: bool.nullish(),
    Container: str.nullish(),
    Cmd: strList.nullish(),
    AttachStdin: bool.nullish(),
    AttachStdout: bool.nullish(),
    AttachStderr: bool.nullish(),
    DetachKeys: str.nullish(),
    Tty: bool.nullish(),
    ConsoleSize: consoleSize.nullish(),
    Env: strList.nullish(),
    Privileged: bool.nullish(),
    User: str.nullish(),
    WorkingDir: str.nullish(),
  },
  'exec create body',
);

/** dockerode sends its own transport options (`hijack`, `stdin`) in the start body; the connection says the same. */
const ExecStartSchema = closed(
  {
    Detach: bool.nullish(),
    Tty: bool.nullish(),
    ConsoleSize: consoleSize.nullish(),
    hijack: z.unknown().optional(),
    stdin: z.unknown().optional(),
  },
  'exec start body',
);

export function parseExecCreateBody(raw: unknown): DockerExecCreateBody {
  const o = parseBody(ExecCreateSchema, raw ?? {}, '');
  const cmd = o.Cmd;
  if (!cmd?.length) throw new ValidationError('No exec command specified');
  const body: DockerExecCreateBody = { Cmd: cmd };
  for (const k of ['AttachStdin', 'AttachStdout', 'AttachStderr', 'Tty', 'Privileged'] as const) {
    const b = o[k];
    if (b !== undefined && b !== null) body[k] = b;
  }
  if (o.Env?.length) {
    for (const e of o.Env)
      if (e.startsWith('=') || e === '') throw new ValidationError(`invalid environment variable "${e}"`);
    body.Env = o.Env.filter((e) => e.includes('='));
  }
  if (o.User) body.User = o.User;
  if (o.WorkingDir) {
    if (!o.WorkingDir.startsWith('/'))
      throw new ValidationError(`WorkingDir "${o.WorkingDir}" must be an absolute path`);
    body.WorkingDir = o.WorkingDir;
  }
  if (o.DetachKeys) body.DetachKeys = validateDetachKeys(o.DetachKeys);
  const tty = consoleSizeOf(o.ConsoleSize);
  if (tty) body.ConsoleSize = tty;
  return body;
}

export function parseExecStartBody(raw: unknown): DockerExecStartBody {
  const o = parseBody(ExecStartSchema, raw ?? {}, '');
  const tty = consoleSizeOf(o.ConsoleSize);
  return { Detach: o.Detach ?? false, Tty: o.Tty ?? false, ...(tty ? { ConsoleSize: tty } : {}) };
}

/** Exec IDs are Podman's: 64 hex digits (a short prefix is not resolved). */
function execId(ctx: RequestContext): string {
  const id = ctx.param('id');
  if (!/^[0-9a-f]{64}$/.test(id)) throw new ValidationError(`invalid exec ID "${id}"`);
  return id;
}

export function registerExecRoutes(router: Router, backend: DockerBackend): void {
  router.post('/containers/{id}/exec', async (ctx) => {
    const body = parseExecCreateBody(await ctx.json());
    ctx.send(201, { Id: await backend.createExec(ctx.param('id'), body) });
  });

  router.post('/exec/{id}/start', async (ctx) => {
    const id = execId(ctx);
    const body = parseExecStartBody(await ctx.json());
    const started = await backend.startExec(id, body);
    if (!started) {
      ctx.send(200);
      return;
    }
    const conn = ctx.hijack(started.tty ? RAW_STREAM : MULTIPLEXED_STREAM);
    const { stream } = started;
    stream.on('error', () => conn.destroy());
    stream.on('end', () => conn.end());
    conn.output.on('error', () => stream.destroy());
    conn.output.on('close', () => stream.destroy());
    stream.pipe(conn.output, { end: false });
    if (started.stdin && ctx.upgrade) conn.input.pipe(stream);
    else conn.input.resume();
  });

  router.get('/exec/{id}/json', async (ctx) => {
    ctx.send(200, await backend.inspectExec(execId(ctx)));
  });

  router.post('/exec/{id}/resize', async (ctx) => {
    const { h, w } = ttySize(ctx);
    await backend.resizeExec(execId(ctx), h, w);
    ctx.send(200);
  });
}
