import type { Router } from '../http/router.ts';
import type { RequestContext } from '../http/context.ts';
import { ValidationError } from '../../util/errors.ts';
import type { DockerBackend } from './backend.ts';
import { MULTIPLEXED_STREAM, RAW_STREAM, ttySize } from './containers.ts';
import { isZero } from './create-fields.ts';
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

type Obj = Record<string, unknown>;

/**
 * The fields of Docker's ExecConfig. Two only clients act on: `Detach` (the
 * start body's decides, as in dockerd) and `Container` (docker-py repeats
 * the path's container in the body).
 */
const EXEC_FIELDS = new Set([
  'Detach',
  'Container',
  'Cmd',
  'AttachStdin',
  'AttachStdout',
  'AttachStderr',
  'DetachKeys',
  'Tty',
  'ConsoleSize',
  'Env',
  'Privileged',
  'User',
  'WorkingDir',
]);

function object(v: unknown, where: string): Obj {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new ValidationError(`${where} must be a JSON object`);
  return v as Obj;
}

function bool(o: Obj, key: string): boolean | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new ValidationError(`${key} must be true or false`);
  return v;
}

function strings(o: Obj, key: string): string[] | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string'))
    throw new ValidationError(`${key} must be a list of strings`);
  return v as string[];
}

function str(o: Obj, key: string): string | undefined {
  const v = o[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new ValidationError(`${key} must be a string`);
  return v;
}

function consoleSize(o: Obj): [number, number] | undefined {
  const v = o['ConsoleSize'];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.length !== 2 || !v.every((n) => Number.isInteger(n) && n >= 0 && n <= 65535))
    throw new ValidationError('ConsoleSize must be [height, width] with whole numbers up to 65535');
  return v[0] > 0 && v[1] > 0 ? [v[0] as number, v[1] as number] : undefined;
}

/** A field outside `known` that carries a value is refused by name. */
function refuseUnknown(o: Obj, known: ReadonlySet<string>, body: string): void {
  for (const [k, v] of Object.entries(o))
    if (!known.has(k) && !isZero(v))
      throw new ValidationError(
        `${k} is not supported: lifeboat does not know this field of the ${body}`,
        'leave it out',
      );
}

export function parseExecCreateBody(raw: unknown): DockerExecCreateBody {
  const o = object(raw, 'body');
  refuseUnknown(o, EXEC_FIELDS, 'exec create body');
  const cmd = strings(o, 'Cmd');
  if (!cmd?.length) throw new ValidationError('No exec command specified');
  const body: DockerExecCreateBody = { Cmd: cmd };
  for (const k of ['AttachStdin', 'AttachStdout', 'AttachStderr', 'Tty', 'Privileged'] as const) {
    const b = bool(o, k);
    if (b !== undefined) body[k] = b;
  }
  const env = strings(o, 'Env');
  if (env?.length) {
    for (const e of env)
      if (e.startsWith('=') || e === '') throw new ValidationError(`invalid environment variable "${e}"`);
    body.Env = env.filter((e) => e.includes('='));
  }
  const user = str(o, 'User');
  if (user) body.User = user;
  const dir = str(o, 'WorkingDir');
  if (dir) {
    if (!dir.startsWith('/')) throw new ValidationError(`WorkingDir "${dir}" must be an absolute path`);
    body.WorkingDir = dir;
  }
  const keys = str(o, 'DetachKeys');
  if (keys) body.DetachKeys = validateDetachKeys(keys);
  const size = consoleSize(o);
  if (size) body.ConsoleSize = size;
  return body;
}

/** dockerode sends its own transport options (`hijack`, `stdin`) in the start body; the connection says the same. */
const EXEC_START_FIELDS = new Set(['Detach', 'Tty', 'ConsoleSize', 'hijack', 'stdin']);

export function parseExecStartBody(raw: unknown): DockerExecStartBody {
  const o = object(raw, 'body');
  refuseUnknown(o, EXEC_START_FIELDS, 'exec start body');
  const size = consoleSize(o);
  return {
    Detach: bool(o, 'Detach') ?? false,
    Tty: bool(o, 'Tty') ?? false,
    ...(size ? { ConsoleSize: size } : {}),
  };
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
