import { z } from 'zod';
import { ValidationError } from './errors.ts';

/**
 * Request bodies are declared once, as zod schemas: the handler's
 * validation, its TypeScript type (`z.infer`) and the OpenAPI document's
 * schema (`jsonSchemaOf`) all come from the same declaration, so they
 * cannot drift apart. A field a request does not declare is a 400 naming
 * it (strict objects, or `closed` ones in src/api/docker/wire.ts that let
 * zero values pass); a versioned protocol between lifeboat's own processes
 * (the heartbeat) drops a newer peer's extra fields instead.
 */

/**
 * The body parsed by `schema`, or a 400 that names every wrong field, what
 * was expected there, and the fields the request takes.
 */
export function parseBody<S extends z.ZodType>(schema: S, raw: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(raw);
  if (r.success) return r.data;
  const problems = r.error.issues.map((i) => {
    const at = i.path.length ? pathText(i.path) : 'the body';
    if (i.code === 'unrecognized_keys')
      return `${i.keys.map((k) => JSON.stringify(k)).join(', ')} ${i.keys.length > 1 ? 'are not fields' : 'is not a field'} of ${i.path.length ? at : 'it'}`;
    if (i.code === 'invalid_type' && i.path.length && valueAt(raw, i.path) === undefined)
      return `${at} is required (${i.expected})`;
    // "Cmd must be a list of strings", "Labels.a: Invalid input ..."
    return `${at}${/^(must|is|are) /.test(i.message) ? ' ' : ': '}${i.message}`;
  });
  const fields = schema instanceof z.ZodObject ? Object.keys(schema.shape as object) : [];
  throw new ValidationError(
    `${what ? `${what}: ` : ''}${problems.join('; ')}`,
    what && fields.length ? `the fields it takes: ${fields.join(', ')}` : undefined,
  );
}

/** The schema as JSON Schema 2020-12 (what OpenAPI 3.1 embeds), without the `$schema` key. */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  return rest;
}

function valueAt(v: unknown, path: PropertyKey[]): unknown {
  let at = v;
  for (const k of path)
    at = at !== null && typeof at === 'object' ? (at as Record<PropertyKey, unknown>)[k] : undefined;
  return at;
}

/** `report.containers[0].Id`, as the fields are written in JavaScript. */
function pathText(path: PropertyKey[]): string {
  return path
    .map((k, n) =>
      typeof k === 'number'
        ? `[${k}]`
        : /^[A-Za-z_$][\w$]*$/.test(String(k))
          ? `${n ? '.' : ''}${String(k)}`
          : `[${JSON.stringify(String(k))}]`,
    )
    .join('');
}
