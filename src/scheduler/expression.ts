/**
 * Swarm classic's filter expressions: `<key><operator><value>` given as `constraint:` / `affinity:`
 * entries in a container's env or as JSON arrays in com.docker.swarm.* labels (docker/swarm
 * scheduler/filter/expr.go and cluster/config.go).
 */
import { ValidationError } from '../util/errors.ts';
import { unsafePatternReason } from '../util/safe-regexp.ts';
import type { ContainerRequest } from './types.ts';

export type ExpressionKind = 'constraint' | 'affinity';
export type Operator = '==' | '!=';
export type ReschedulePolicy = 'off' | 'on-node-failure';

export const CONSTRAINTS_LABEL = 'com.docker.swarm.constraints';
export const AFFINITIES_LABEL = 'com.docker.swarm.affinities';
export const RESCHEDULE_POLICIES_LABEL = 'com.docker.swarm.reschedule-policies';
export const RESCHEDULE_POLICIES: readonly ReschedulePolicy[] = ['off', 'on-node-failure'];

const OPERATORS_HELP = 'expected one of ==, !=, ==~, !=~';
const EXPRESSION_HINT =
  'Write <key><operator><value>, e.g. -e constraint:region==eu, -e constraint:node!=node1, ' +
  '-e affinity:container==web, -e affinity:image==~redis; values may be globs (us*) or /regexps/. ' +
  'See src/scheduler/README.md.';

/** A bad constraint, affinity or reschedule policy: the message quotes it and says what is wrong. */
export class ExpressionError extends ValidationError {
  readonly kind: string;
  readonly expression: string;

  constructor(kind: string, expression: string, problem: string, hint: string = EXPRESSION_HINT) {
    super(`${kind} "${expression}": ${problem}`, hint);
    this.kind = kind;
    this.expression = expression;
  }
}

export interface Expression {
  readonly kind: ExpressionKind;
  /** As written after the `constraint:` / `affinity:` prefix, e.g. 'region==~us*'. */
  readonly text: string;
  readonly key: string;
  readonly operator: Operator;
  /** `==~` / `!=~`: honoured when possible, dropped when it would leave no node. */
  readonly soft: boolean;
  /** Without the soft marker. */
  readonly value: string;
  /** Neither a glob nor a /regexp/: the only values that may also match an ID prefix. */
  readonly literal: boolean;
  readonly pattern: RegExp;
}

export interface ParsedScheduling {
  constraints: Expression[];
  affinities: Expression[];
  reschedulePolicies: ReschedulePolicy[];
  /** The request's env without its scheduling entries (Swarm strips them before creating). */
  env: string[];
  /** The request's labels with every expression recorded in the com.docker.swarm.* labels. */
  labels: Record<string, string>;
}

const KEY_RE = /^[a-z_][a-z0-9\-_.]*$/i;
// Operator look-alikes people type, longest first, for a precise message.
const WRONG_OPERATORS = ['=~', '~=', '<=', '>=', '<>', '=<', '=>', '<', '>', ':='];

export function parseExpression(kind: ExpressionKind, text: string): Expression {
  const eq = text.indexOf('==');
  const ne = text.indexOf('!=');
  const at = eq < 0 ? ne : ne < 0 ? eq : Math.min(eq, ne);
  if (at < 0) {
    const wrong = WRONG_OPERATORS.find((op) => text.includes(op));
    throw new ExpressionError(
      kind,
      text,
      wrong ? `unknown operator "${wrong}"; ${OPERATORS_HELP}` : OPERATORS_HELP,
    );
  }
  const operator: Operator = at === eq ? '==' : '!=';
  const key = text.slice(0, at);
  const rest = text.slice(at + 2);
  if (key === '') throw new ExpressionError(kind, text, `empty key before "${operator}"`);
  if (!KEY_RE.test(key)) {
    throw new ExpressionError(
      kind,
      text,
      `invalid key "${key}": a key starts with a letter or '_' and holds only letters, digits, '.', '-' and '_'`,
    );
  }
  const soft = rest.startsWith('~');
  const value = rest.replace(/^~+/, '');
  if (value === '')
    throw new ExpressionError(kind, text, `empty value after "${operator}${soft ? '~' : ''}"`);
  const isRegexp = value.length >= 2 && value.startsWith('/') && value.endsWith('/');
  return {
    kind,
    text,
    key,
    operator,
    soft,
    value,
    literal: !isRegexp && !value.includes('*'),
    pattern: isRegexp ? compileRegexp(kind, text, value.slice(1, -1)) : compileGlob(kind, text, value),
  };
}

/**
 * RE2 syntax as Swarm took it, on JavaScript's engine: a leading (?i), (?m) or (?s) becomes a
 * flag (Node 20 has no inline modifiers), (?P<name> becomes (?<name>. Unanchored, like Go's MatchString.
 */
function compileRegexp(kind: ExpressionKind, text: string, body: string): RegExp {
  let flags = '';
  let source = body;
  const inline = /^\(\?([a-zA-Z]+)\)/.exec(source);
  if (inline) {
    for (const f of inline[1] ?? '') {
      if (f !== 'i' && f !== 'm' && f !== 's') {
        throw new ExpressionError(
          kind,
          text,
          `invalid regexp /${body}/: flag "${f}" is not supported (use i, m or s)`,
        );
      }
      if (!flags.includes(f)) flags += f;
    }
    source = source.slice(inline[0].length);
  }
  source = source.replaceAll('(?P<', '(?<');
  const unsafe = unsafePatternReason(source);
  if (unsafe) throw new ExpressionError(kind, text, `regexp /${body}/ refused: ${unsafe}`);
  try {
    return new RegExp(source, flags);
  } catch (err) {
    throw new ExpressionError(kind, text, `invalid regexp /${body}/: ${regexpProblem(err)}`);
  }
}

// Swarm turns `*` into `.*`, anchors, and leaves every other character to the regexp engine.
function compileGlob(kind: ExpressionKind, text: string, value: string): RegExp {
  const unsafe = unsafePatternReason(value.replaceAll('*', '.*'));
  if (unsafe) throw new ExpressionError(kind, text, `pattern "${value}" refused: ${unsafe}`);
  try {
    return new RegExp('^' + value.replaceAll('*', '.*') + '$');
  } catch (err) {
    throw new ExpressionError(
      kind,
      text,
      `invalid value "${value}": ${regexpProblem(err)} (outside /.../ only * is a wildcard, and characters like ( [ + ? still act as in a regexp)`,
    );
  }
}

function regexpProblem(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/^Invalid regular expression: \/.*\/[a-z]*: /, '');
}

/**
 * `==`: some value matches; `!=`: none does. A missing label is the empty string, as in Swarm,
 * so `region!=eu` matches nodes without a region label.
 */
export function matchExpression(expr: Expression, values: readonly string[]): boolean {
  const hit = values.some((v) => expr.pattern.test(v));
  return expr.operator === '==' ? hit : !hit;
}

/** Label lookup by exact key, then ignoring case (label keys differing only by case are not expected). */
export function lookupLabel(labels: Record<string, string>, key: string): string | undefined {
  if (Object.hasOwn(labels, key)) return labels[key];
  const lower = key.toLowerCase();
  const found = Object.keys(labels).find((k) => k.toLowerCase() === lower);
  return found === undefined ? undefined : labels[found];
}

export function formatExpression(expr: Expression): string {
  return `${expr.kind}:${expr.text}`;
}

export interface Narrowed<T> {
  remaining: T[];
  /** The hard expression that left nothing (remaining is then empty). */
  failed?: Expression;
  /** The items the failed expression was tested against. */
  before: T[];
  /** Soft expressions skipped because they would have left nothing. */
  skippedSoft: Expression[];
}

/** Applies expressions in order (a logical AND), skipping a soft one that would leave nothing. */
export function narrowByExpressions<T>(
  exprs: readonly Expression[],
  items: readonly T[],
  test: (expr: Expression, item: T) => boolean,
): Narrowed<T> {
  let remaining = [...items];
  const skippedSoft: Expression[] = [];
  for (const expr of exprs) {
    const next = remaining.filter((item) => test(expr, item));
    if (next.length === 0) {
      if (expr.soft) {
        skippedSoft.push(expr);
        continue;
      }
      return { remaining: [], failed: expr, before: remaining, skippedSoft };
    }
    remaining = next;
  }
  return { remaining, before: remaining, skippedSoft };
}

/**
 * Splits a request into its scheduling parts as Swarm's BuildContainerConfig did: expressions from
 * the labels first, then from env; env loses its scheduling entries; labels record them all, so a
 * container re-placed later (migration, restore) keeps its constraints. The request is not modified.
 */
export function extractSchedulingFromRequest(req: ContainerRequest): ParsedScheduling {
  const constraints = labelList(req.labels, CONSTRAINTS_LABEL);
  const affinities = labelList(req.labels, AFFINITIES_LABEL);
  const policies = labelList(req.labels, RESCHEDULE_POLICIES_LABEL);
  const env: string[] = [];
  for (const entry of req.env) {
    const colon = entry.indexOf(':');
    const prefix = colon < 0 ? '' : entry.slice(0, colon);
    const rest = entry.slice(colon + 1);
    if (prefix === 'constraint') constraints.push(rest);
    else if (prefix === 'affinity') affinities.push(rest);
    else if (prefix === 'reschedule') policies.push(rest);
    else env.push(entry);
  }
  const uniqueConstraints = unique(constraints);
  const uniqueAffinities = unique(affinities);
  const reschedulePolicies = parsePolicies(unique(policies));

  const labels = { ...req.labels };
  setList(labels, CONSTRAINTS_LABEL, uniqueConstraints);
  setList(labels, AFFINITIES_LABEL, uniqueAffinities);
  setList(labels, RESCHEDULE_POLICIES_LABEL, reschedulePolicies);
  return {
    constraints: uniqueConstraints.map((t) => parseExpression('constraint', t)),
    affinities: uniqueAffinities.map((t) => parseExpression('affinity', t)),
    reschedulePolicies,
    env,
    labels,
  };
}

// Swarm silently ignored a label that was not a JSON array; a bare single entry is accepted here
// and anything else is an error, so a typo never drops a constraint unnoticed.
function labelList(labels: Record<string, string>, name: string): string[] {
  const raw = labels[name];
  if (raw === undefined || raw.trim() === '') return [];
  const text = raw.trim();
  if (!text.startsWith('[')) return [text];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || !parsed.every((v): v is string => typeof v === 'string')) {
    throw new ExpressionError(
      'label',
      `${name}=${raw}`,
      `expected a JSON array of strings, e.g. ${name}=["region==eu","node!=node1"]`,
    );
  }
  return [...parsed];
}

function parsePolicies(values: string[]): ReschedulePolicy[] {
  const policies = values.map((v): ReschedulePolicy => {
    const policy = RESCHEDULE_POLICIES.find((p) => p === v);
    if (policy === undefined) {
      throw new ExpressionError(
        'reschedule',
        v,
        `unknown reschedule policy; expected one of ${RESCHEDULE_POLICIES.join(', ')}`,
        'Use -e reschedule:on-node-failure to restart the container elsewhere when its node fails; ' +
          'to restore it from its newest checkpoint instead, label it lifeboat.reschedule=checkpoint.',
      );
    }
    return policy;
  });
  if (policies.length > 1) {
    throw new ExpressionError(
      'reschedule',
      policies.join(','),
      'conflicting reschedule policies; give only one',
    );
  }
  return policies;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

function setList(labels: Record<string, string>, name: string, values: readonly string[]): void {
  if (values.length > 0) labels[name] = JSON.stringify(values);
  else delete labels[name];
}
