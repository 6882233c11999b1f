import { LifeboatError } from '../../util/errors.ts';

/** An answer the HTTP layer itself gives (no route, body too large, bad JSON, bad API version). */
export class HttpError extends LifeboatError {
  constructor(status: number, code: string, message: string, hint?: string) {
    super(code, message, { status, ...(hint === undefined ? {} : { hint }) });
  }
}

export class RouteNotFoundError extends HttpError {
  constructor() {
    // dockerd's exact text: clients match on it
    super(404, 'route_not_found', 'page not found');
  }
}

export class MethodNotAllowedError extends HttpError {
  readonly allowed: string[];
  constructor(method: string, path: string, allowed: string[]) {
    super(405, 'method_not_allowed', `${method} is not allowed on ${path} (allowed: ${allowed.join(', ')})`);
    this.allowed = allowed;
  }
}

export class PayloadTooLargeError extends HttpError {
  constructor(limitBytes: number) {
    super(413, 'payload_too_large', `request body exceeds the limit of ${limitBytes} bytes`);
  }
}

export class MalformedJsonError extends HttpError {
  constructor(detail: string) {
    super(400, 'malformed_json', `malformed JSON in request body: ${detail}`);
  }
}

export class InvalidRequestTargetError extends HttpError {
  constructor(target: string) {
    super(400, 'invalid_request_target', `invalid request target ${JSON.stringify(target.slice(0, 200))}`);
  }
}

export class ApiVersionError extends HttpError {
  constructor(message: string) {
    super(400, 'unsupported_api_version', message);
  }
}

/** What an error becomes on the wire: a status and Docker's `{"message"}` body. */
export function errorAnswer(err: unknown): {
  status: number;
  message: string;
  hint?: string;
  expected: boolean;
} {
  if (err instanceof LifeboatError)
    return {
      status: err.status,
      message: err.message,
      ...(err.hint ? { hint: err.hint } : {}),
      expected: true,
    };
  return { status: 500, message: 'internal server error', expected: false };
}
