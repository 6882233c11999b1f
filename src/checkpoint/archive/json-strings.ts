/** Location of a value: object keys and array indexes from the root. */
export type JsonPath = ReadonlyArray<string | number>;

/** Returns the new value for a string, or undefined to keep it. */
export type StringRewriter = (path: JsonPath, value: string) => string | undefined;

type Frame = { kind: 'object'; key: string; expectKey: boolean } | { kind: 'array'; index: number };

function endOfString(text: string, open: number): number {
  for (let i = open + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x22) return i;
  }
  throw new SyntaxError(`unterminated JSON string at offset ${open}`);
}

/**
 * Rewrites string values of a JSON document in place, leaving every other
 * byte as it was. Going through JSON.parse/stringify instead would round
 * uint64 values such as RLIMIT_INFINITY (18446744073709551615) in an OCI
 * spec, which Go then refuses to read back.
 * The input must be valid JSON (parse it first); keys are never rewritten.
 */
export function rewriteJsonStrings(text: string, rewrite: StringRewriter): { text: string; changed: number } {
  const stack: Frame[] = [];
  const parts: string[] = [];
  let copiedUpTo = 0;
  let changed = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const top = stack[stack.length - 1];
    switch (c) {
      case '{':
        stack.push({ kind: 'object', key: '', expectKey: true });
        break;
      case '[':
        stack.push({ kind: 'array', index: 0 });
        break;
      case '}':
      case ']':
        stack.pop();
        break;
      case ',':
        if (top?.kind === 'object') top.expectKey = true;
        else if (top?.kind === 'array') top.index++;
        break;
      case ':':
        if (top?.kind === 'object') top.expectKey = false;
        break;
      case '"': {
        const end = endOfString(text, i);
        const raw = text.slice(i, end + 1);
        if (top?.kind === 'object' && top.expectKey) {
          top.key = JSON.parse(raw) as string;
        } else {
          const value = JSON.parse(raw) as string;
          const path = stack.map((f) => (f.kind === 'object' ? f.key : f.index));
          const next = rewrite(path, value);
          if (next !== undefined && next !== value) {
            parts.push(text.slice(copiedUpTo, i), JSON.stringify(next));
            copiedUpTo = end + 1;
            changed++;
          }
        }
        i = end;
        break;
      }
      default:
        break;
    }
  }
  parts.push(text.slice(copiedUpTo));
  return { text: parts.join(''), changed };
}

/** Adds `"key": value` as the first member of the top-level object. */
export function insertTopLevelMember(text: string, key: string, value: unknown): string {
  const open = text.indexOf('{');
  if (open < 0) throw new SyntaxError('JSON document is not an object');
  const rest = text.slice(open + 1);
  const empty = rest.trimStart().startsWith('}');
  const indent = /^\s*\n(\s*)/.exec(rest)?.[1] ?? '';
  const member = `${JSON.stringify(key)}: ${JSON.stringify(value)}`;
  const nl = indent === '' ? '' : `\n${indent}`;
  return text.slice(0, open + 1) + nl + member + (empty ? '' : ',') + rest;
}

/** Paths are equal element by element. */
export function pathIs(path: JsonPath, ...expected: Array<string | number>): boolean {
  return path.length === expected.length && path.every((p, i) => p === expected[i]);
}
