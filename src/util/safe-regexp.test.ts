import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from './errors.ts';
import { compileClientRegExp, unsafePatternReason } from './safe-regexp.ts';

test('ordinary patterns pass', () => {
  for (const p of [
    'web',
    '^/web-[0-9]+$',
    'eu-.*',
    '(eu|us)-west',
    '^(ab)+$',
    'a{2,3}b',
    '[(+*)]+',
    '\\(a+\\)+',
  ])
    assert.equal(unsafePatternReason(p), undefined, p);
});

test('patterns that backtrack exponentially are refused with the reason', () => {
  for (const p of ['(a+)+$', '(a*)*b', '(a|aa)+$', '((ab)*)+', '(.*a){20}', '(\\w+\\s?)*$'])
    assert.match(unsafePatternReason(p) ?? '', /nested quantifiers/, p);
  assert.match(unsafePatternReason('(a)\\1') ?? '', /backreferences/);
  assert.match(unsafePatternReason('a'.repeat(300)) ?? '', /longer than 256/);
});

test('compileClientRegExp: a 400 naming the pattern, or the RegExp', () => {
  assert.ok(compileClientRegExp('^web', '', 'filter').test('web-1'));
  assert.throws(
    () => compileClientRegExp('(a+)+$', '', 'filter'),
    (e: unknown) => e instanceof ValidationError && /filter \/\(a\+\)\+\$\/ refused/.test(e.message),
  );
});

test(
  'a pattern that backtracks without nested groups cannot stall the process: linear-time fallback',
  { timeout: 10_000 },
  () => {
    // `docker ps --filter name=...` as measured on a 63-character name: >30 s before the fallback
    const re = compileClientRegExp('^.*a.*a.*a.*a.*a.*a.*a.*a.*b$', '', 'name filter');
    // without the fallback these do not return within the test's timeout
    assert.equal(re.test('a'.repeat(255)), false);
    assert.equal(re.test(`${'a'.repeat(254)}b`), true);
  },
);

test('lookarounds are refused: the linear-time engine cannot run them', () => {
  for (const p of ['a(?=b)', 'a(?!b)', '(?<=a)b', '(?<!a)b'])
    assert.match(unsafePatternReason(p) ?? '', /lookahead and lookbehind/, p);
  assert.equal(unsafePatternReason('(?<name>web)-[0-9]+'), undefined, 'named groups are fine');
  assert.equal(unsafePatternReason('(?:eu|us)-west'), undefined, 'non-capturing groups are fine');
});
