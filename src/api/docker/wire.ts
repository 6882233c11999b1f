import { z } from 'zod';

/**
 * The JSON of Docker's request bodies, as zod types (src/util/schema.ts):
 * the Engine API's zero values, the primitive fields with the messages
 * Docker's clients are used to ("Tty must be true or false"), and objects
 * that refuse a field they do not know unless it asks for nothing.
 */

/**
 * Docker's zero values: what a client sends for a setting it leaves alone.
 * Nesting deeper than any Engine API field counts as a value (and bounds
 * the recursion on hostile bodies).
 */
export function isZero(v: unknown, depth = 0): boolean {
  if (v === undefined || v === null || v === '' || v === false || v === 0) return true;
  if (depth > 8 || typeof v !== 'object') return false;
  const values = Array.isArray(v) ? v : Object.values(v as object);
  return values.every((x) => isZero(x, depth + 1));
}

/**
 * An object of known fields; another field is refused unless its value asks
 * for nothing (clients send whole structures, mostly empty). `body` names
 * the request in the refusal ("the exec create body").
 */
export function closed<S extends z.ZodRawShape>(shape: S, body?: string) {
  const why = body
    ? `is not supported: lifeboat does not know this field of the ${body}`
    : 'is not supported';
  return z.looseObject(shape, { error: 'must be a JSON object' }).superRefine((o, ctx) => {
    for (const k of extraFields(o, shape)) ctx.addIssue({ code: 'custom', path: [k], message: why });
  });
}

/** The fields of `o` that `shape` does not declare and that carry a value. */
export function extraFields(o: Record<string, unknown>, shape: object): string[] {
  return Object.keys(o).filter((k) => !(k in shape) && !isZero(o[k]));
}

export const str = z.string({ error: 'must be a string' });
export const bool = z.boolean({ error: 'must be true or false' });
/** JSON numbers beyond 2^53 arrive rounded, and beyond int64 the engine cannot take them at all. */
export const int = z.int({
  error: (i) => (i.code === 'too_big' || i.code === 'too_small' ? 'is out of range' : 'must be an integer'),
});
export const strList = z.array(str, { error: 'must be a list of strings' });
export const strMap = z.record(z.string(), str, { error: 'must be a JSON object of strings' });
export const anyMap = z.record(z.string(), z.unknown(), { error: 'must be a JSON object' });
/** A TTY's [height, width]; [0, 0] (what clients send without a TTY) asks for nothing (`consoleSizeOf`). */
export const consoleSize = z
  .tuple([int, int], { error: 'must be [height, width] with whole numbers up to 65535' })
  .refine(([h, w]) => h >= 0 && h <= 65535 && w >= 0 && w <= 65535, {
    error: 'must be [height, width] with whole numbers up to 65535',
  });

/** The size a `consoleSize` field asks for: none for [0, 0] (or any 0). */
export function consoleSizeOf(s: readonly [number, number] | null | undefined): [number, number] | undefined {
  return s && s[0] > 0 && s[1] > 0 ? [s[0], s[1]] : undefined;
}
