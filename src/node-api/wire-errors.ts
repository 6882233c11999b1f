import {
  CheckpointFailedError,
  ConflictError,
  ContainerNotFoundError,
  EngineError,
  ImageNotFoundError,
  RestoreFailedError,
  UnsupportedError,
} from '../engine/errors.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LifeboatError } from '../util/errors.ts';

/**
 * A LifeboatError as the node API sends it. `message`, `code` and `hint`
 * are what users and scripts read; the rest lets the manager's side rebuild
 * the same typed error (an `instanceof ImageNotFoundError` check works on
 * both sides of the wire).
 */
export interface WireError {
  message: string;
  code: string;
  hint?: string;
  /** Engine errors: what was being done, Podman's own text and Podman's status. */
  operation?: string;
  engineMessage?: string;
  engineStatus?: number;
  /** Unsupported: the missing kernel or CRIU feature. */
  feature?: string;
}

export function toWireError(err: LifeboatError): WireError {
  const out: WireError = { message: err.message, code: err.code };
  if (err.hint !== undefined) out.hint = err.hint;
  if (err instanceof EngineError) {
    out.operation = err.operation;
    out.engineMessage = err.podmanMessage;
    out.engineStatus = err.httpStatus;
  }
  if (err instanceof UnsupportedError) out.feature = err.feature;
  return out;
}

/** An error a node answered with that has no local class: code, status and hint are kept. */
export class RemoteNodeError extends LifeboatError {
  readonly node: string;
  constructor(node: string, code: string, message: string, opts: { status: number; hint?: string }) {
    super(code, message, opts);
    this.node = node;
  }
}

const UNSUPPORTED_PREFIX = 'unsupported: ';

/** Rebuilds the error a node answered with (`status`, raw body) on the caller's side. */
export function reviveError(node: string, status: number, body: Buffer): LifeboatError {
  const text = body.toString('utf8').trim();
  let wire: Partial<WireError> | undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed !== null && typeof parsed === 'object') wire = parsed as Partial<WireError>;
  } catch {
    wire = undefined;
  }
  if (wire === undefined || typeof wire.message !== 'string') {
    return new RemoteNodeError(
      node,
      'node_api_error',
      `node ${node} answered ${status}: ${text.slice(0, 500) || '(empty answer)'}`,
      { status: status >= 400 ? status : 502 },
    );
  }
  const code = typeof wire.code === 'string' ? wire.code : 'node_api_error';
  const hint = typeof wire.hint === 'string' ? wire.hint : undefined;
  const op = typeof wire.operation === 'string' ? wire.operation : undefined;
  const msg = typeof wire.engineMessage === 'string' ? wire.engineMessage : undefined;
  const engineStatus = typeof wire.engineStatus === 'number' ? wire.engineStatus : status;
  if (op !== undefined && msg !== undefined) {
    switch (code) {
      case 'container_not_found':
        return new ContainerNotFoundError(op, msg);
      case 'image_not_found':
        return new ImageNotFoundError(op, msg);
      case 'conflict':
        return new ConflictError(op, msg);
      case 'checkpoint_failed':
        return new CheckpointFailedError(op, engineStatus, msg);
      case 'restore_failed':
        return new RestoreFailedError(op, engineStatus, msg);
      case 'engine_error':
        return new EngineError(op, engineStatus, msg, { status, ...(hint === undefined ? {} : { hint }) });
    }
  }
  if (code === 'unsupported' && typeof wire.feature === 'string') {
    const detail = wire.message.startsWith(UNSUPPORTED_PREFIX)
      ? wire.message.slice(UNSUPPORTED_PREFIX.length)
      : wire.message;
    return new UnsupportedError(wire.feature, detail, hint);
  }
  return new RemoteNodeError(node, code, wire.message, { status, ...(hint === undefined ? {} : { hint }) });
}

/** How long a refused upload may go on being drained before its connection is cut. */
const DRAIN_GRACE_MS = 10_000;

/**
 * The one way the node API answers an error: `{message, code, hint, ...}`
 * with its status. With `req`, a request body still arriving (a refused
 * archive) is drained for a while rather than reset, so the caller reads the
 * answer instead of ECONNRESET. Once headers are out, only cutting the
 * connection is left to say it.
 */
export function sendWireError(res: ServerResponse, err: LifeboatError, req?: IncomingMessage): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify(toWireError(err)) + '\n';
  res.writeHead(err.status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
  if (req && !req.complete) {
    req.unpipe();
    req.resume();
    const timer = setTimeout(() => req.socket.destroy(), DRAIN_GRACE_MS);
    timer.unref();
    req.once('end', () => clearTimeout(timer));
    req.once('close', () => clearTimeout(timer));
  }
}
