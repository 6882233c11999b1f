import { setFlagsFromString } from 'node:v8';
import { ValidationError } from './errors.ts';

// Docker and Swarm match with Go's RE2, in linear time. V8 backtracks, but
// can fall back to its linear-time engine once a match backtracks too much:
// with this, no accepted pattern (no backreferences, no lookarounds) can
// stall the process, whatever its shape (`^.*a.*a.*a.*b$` on a long name).
// Set when this module loads, before any client pattern is compiled.
setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');

/** Longest pattern a client may send (Docker filters, Swarm /regex/ expressions). */
export const MAX_PATTERN_LENGTH = 256;

/**
 * Why a client's regular expression could stall the process, or undefined
 * when it is safe to run on short strings (names, IDs, labels). Docker and Swarm use
 * Go's RE2, which runs in linear time; JavaScript backtracks, so a pattern
 * such as `(a+)+$` can take exponential time and would freeze a manager
 * (heartbeats unanswered, hosts fencing). Such patterns are refused with a 400 naming the
 * construct: backreferences, and a repeated group that itself repeats or
 * alternates, which are where catastrophic backtracking comes from.
 */
export function unsafePatternReason(source: string): string | undefined {
  if (source.length > MAX_PATTERN_LENGTH) return `longer than ${MAX_PATTERN_LENGTH} characters`;
  // per open group: does its body repeat or alternate?
  const groups: { risky: boolean }[] = [];
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      const next = source[i + 1] ?? '';
      if (/[1-9]/.test(next) || next === 'k') return 'backreferences are not supported (RE2 has none)';
      i++;
      continue;
    }
    if (c === '[') {
      // a character class: skip to its end (escapes inside included)
      for (i++; i < source.length && source[i] !== ']'; i++) if (source[i] === '\\') i++;
      continue;
    }
    if (c === '(') {
      // the linear-time engine has no lookarounds (nor has RE2): such a pattern could backtrack without bound
      if (
        source[i + 1] === '?' &&
        /^[=!<]/.test(source.slice(i + 2)) &&
        !/^<[A-Za-z]/.test(source.slice(i + 2))
      )
        return 'lookahead and lookbehind are not supported (RE2 has none)';
      groups.push({ risky: false });
      continue;
    }
    if (c === ')') {
      const g = groups.pop();
      const q = source[i + 1];
      const repeated = q === '*' || q === '+' || q === '{';
      if (g?.risky && repeated)
        return `the repeated group ending at character ${i + 1} repeats or alternates inside (nested quantifiers backtrack exponentially)`;
      // a group that repeats makes its enclosing group risky too
      if (groups.length > 0 && (g?.risky || repeated)) groups[groups.length - 1]!.risky = true;
      continue;
    }
    if (groups.length > 0 && (c === '*' || c === '+' || c === '{' || c === '|'))
      groups[groups.length - 1]!.risky = true;
  }
  return undefined;
}

/** `new RegExp` for a client's pattern, refused (ValidationError, 400) when it could backtrack exponentially. */
export function compileClientRegExp(source: string, flags: string, what: string): RegExp {
  const why = unsafePatternReason(source);
  if (why)
    throw new ValidationError(
      `${what} /${source.length > 60 ? source.slice(0, 60) + '…' : source}/ refused: ${why}`,
      'lifeboat evaluates patterns with a backtracking engine; write it without nested repetition (e.g. a+ instead of (a+)+)',
    );
  return new RegExp(source, flags);
}
