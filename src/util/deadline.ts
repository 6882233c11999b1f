import { LifeboatError } from './errors.ts';

/**
 * Settles with `work`, or rejects once `ms` have passed: for calls whose
 * answer only matters while it is quick (a host that does not answer in
 * time is treated as down). The work itself is not cancelled.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new LifeboatError('deadline_exceeded', `${what}: no answer within ${ms} ms`, { status: 504 })),
      ms,
    );
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
    work.catch(() => undefined);
  }
}
