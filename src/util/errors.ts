/**
 * Base of every error lifeboat raises on purpose. `code` is stable for
 * scripts (`--json` output, API bodies); `hint` tells the operator what to do.
 */
export class LifeboatError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  /** HTTP status the APIs answer with when this error reaches them. */
  readonly status: number;

  constructor(code: string, message: string, opts: { hint?: string; status?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = opts.hint;
    this.status = opts.status ?? 500;
  }

  toJSON(): { code: string; message: string; hint?: string } {
    return this.hint === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, hint: this.hint };
  }
}

/** Input that can never succeed as given: a 400, with what is wrong. */
export class ValidationError extends LifeboatError {
  constructor(message: string, hint?: string) {
    super('invalid_input', message, { status: 400, ...(hint === undefined ? {} : { hint }) });
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
