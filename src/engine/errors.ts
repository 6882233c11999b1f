import { LifeboatError } from '../util/errors.ts';

/**
 * A non-2xx answer from Podman. `podmanMessage` is Podman's own text (its
 * `message`/`cause` fields), kept verbatim because it is what an operator
 * searches for.
 */
export class EngineError extends LifeboatError {
  readonly operation: string;
  readonly httpStatus: number;
  readonly podmanMessage: string;

  constructor(
    operation: string,
    httpStatus: number,
    podmanMessage: string,
    opts: { code?: string; hint?: string; status?: number } = {},
  ) {
    super(opts.code ?? 'engine_error', `${operation}: ${podmanMessage}`, {
      status: opts.status ?? (httpStatus >= 400 && httpStatus < 500 ? httpStatus : 502),
      ...(opts.hint === undefined ? {} : { hint: opts.hint }),
    });
    this.operation = operation;
    this.httpStatus = httpStatus;
    this.podmanMessage = podmanMessage;
  }
}

export class ContainerNotFoundError extends EngineError {
  constructor(operation: string, message: string) {
    super(operation, 404, message, { code: 'container_not_found', status: 404 });
  }
}

export class ImageNotFoundError extends EngineError {
  constructor(operation: string, message: string) {
    super(operation, 404, message, {
      code: 'image_not_found',
      status: 404,
      hint: 'the image must be present on this host with the same image ID (ship it with save/load)',
    });
  }
}

export class ConflictError extends EngineError {
  constructor(operation: string, message: string) {
    super(operation, 409, message, { code: 'conflict', status: 409 });
  }
}

/** The host's kernel or CRIU lacks what the requested option needs. */
export class UnsupportedError extends LifeboatError {
  readonly feature: string;
  constructor(feature: string, message: string, hint?: string) {
    super('unsupported', `unsupported: ${message}`, { status: 501, ...(hint === undefined ? {} : { hint }) });
    this.feature = feature;
  }
}

export const SOFT_DIRTY_MISSING = 'kernel lacks soft-dirty memory tracking';

export function softDirtyUnsupported(): UnsupportedError {
  return new UnsupportedError(
    'mem_dirty_track',
    SOFT_DIRTY_MISSING,
    'pre-dump and incremental checkpoints need CONFIG_MEM_SOFT_DIRTY; take full checkpoints on this host',
  );
}

export class CheckpointFailedError extends EngineError {
  constructor(operation: string, httpStatus: number, message: string) {
    super(operation, httpStatus, message, { code: 'checkpoint_failed' });
  }
}

export class RestoreFailedError extends EngineError {
  constructor(operation: string, httpStatus: number, message: string) {
    super(operation, httpStatus, message, { code: 'restore_failed' });
  }
}

/** The socket is not there or refused: Podman's service is down. */
export class EngineUnavailableError extends LifeboatError {
  constructor(socketPath: string, cause: unknown) {
    super('engine_unavailable', `Podman service at ${socketPath} is not reachable: ${String(cause)}`, {
      status: 503,
      hint: 'is the node up? `lifeboat doctor` checks the host',
      cause,
    });
  }
}
