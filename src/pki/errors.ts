import { LifeboatError } from '../util/errors.ts';

/**
 * Problems with the cluster's certificates and keys. Codes start with `pki_`
 * so scripts can tell them apart from other failures.
 */
export class PkiError extends LifeboatError {
  constructor(code: string, message: string, opts: { hint?: string; status?: number; cause?: unknown } = {}) {
    super(code, message, opts);
  }
}
