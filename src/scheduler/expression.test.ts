import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationError } from '../util/errors.ts';
import {
  AFFINITIES_LABEL,
  CONSTRAINTS_LABEL,
  ExpressionError,
  RESCHEDULE_POLICIES_LABEL,
  extractSchedulingFromRequest,
  matchExpression,
  narrowByExpressions,
  parseExpression,
  lookupLabel,
} from './expression.ts';
import { makeRequest } from './test-fixtures.ts';

function parseError(text: string): ExpressionError {
  try {
    parseExpression('constraint', text);
  } catch (err) {
    assert.ok(err instanceof ExpressionError, `expected ExpressionError, got ${String(err)}`);
    return err;
  }
  assert.fail(`"${text}" parsed but should not`);
}

describe('parseExpression', () => {
  test('splits key, operator and value', () => {
    const e = parseExpression('constraint', 'node==node1');
    assert.equal(e.key, 'node');
    assert.equal(e.operator, '==');
    assert.equal(e.value, 'node1');
    assert.equal(e.soft, false);
    assert.equal(e.literal, true);
    assert.equal(e.text, 'node==node1');
    const ne = parseExpression('constraint', 'region!=us*');
    assert.equal(ne.operator, '!=');
    assert.equal(ne.value, 'us*');
    assert.equal(ne.literal, false);
  });

  test('soft operators ==~ and !=~', () => {
    const e = parseExpression('affinity', 'image==~redis');
    assert.equal(e.soft, true);
    assert.equal(e.operator, '==');
    assert.equal(e.value, 'redis');
    const n = parseExpression('affinity', 'container!=~redis*');
    assert.equal(n.soft, true);
    assert.equal(n.operator, '!=');
    assert.equal(n.value, 'redis*');
  });

  test('keys as Swarm allows them: caps, dots, leading underscore, one character', () => {
    assert.equal(parseExpression('constraint', 'NoDe==node1').key, 'NoDe');
    assert.equal(parseExpression('constraint', 'com.example.storage==ssd').key, 'com.example.storage');
    assert.equal(parseExpression('constraint', '_node==_node1').value, '_node1');
    assert.equal(parseExpression('constraint', 'a==b').key, 'a');
  });

  test('values may hold spaces, colons and a regexp', () => {
    assert.equal(parseExpression('constraint', 'node==node 1').value, 'node 1');
    assert.equal(parseExpression('affinity', 'image==redis:7').value, 'redis:7');
    const re = parseExpression('constraint', 'node==/(?i)^[a-b]+c*(n|b)$/');
    assert.equal(re.value, '/(?i)^[a-b]+c*(n|b)$/');
    assert.equal(re.literal, false);
  });

  test('the first operator splits, so a value may contain == or !=', () => {
    const e = parseExpression('constraint', 'note!=a==b');
    assert.equal(e.key, 'note');
    assert.equal(e.operator, '!=');
    assert.equal(e.value, 'a==b');
  });

  test('a single = names the accepted operators', () => {
    assert.equal(parseError('region=eu').message, 'constraint "region=eu": expected one of ==, !=, ==~, !=~');
    assert.equal(
      parseError('name=!node0').message,
      'constraint "name=!node0": expected one of ==, !=, ==~, !=~',
    );
  });

  test('an unknown operator is named', () => {
    assert.match(
      parseError('region=~eu').message,
      /^constraint "region=~eu": unknown operator "=~"; expected one of/,
    );
    assert.match(parseError('cpus>=4').message, /unknown operator ">="/);
    assert.match(parseError('cpus<4').message, /unknown operator "<"/);
  });

  test('empty key, bad key, empty value', () => {
    assert.equal(parseError('==eu').message, 'constraint "==eu": empty key before "=="');
    assert.match(parseError('node ==node1').message, /^constraint "node ==node1": invalid key "node "/);
    assert.match(parseError('1node==x').message, /invalid key "1node"/);
    assert.match(parseError('no*de==node1').message, /invalid key/);
    assert.match(parseError('no$de==node1').message, /invalid key/);
    assert.equal(parseError('region==').message, 'constraint "region==": empty value after "=="');
    assert.equal(parseError('region!=~').message, 'constraint "region!=~": empty value after "!=~"');
  });

  test('an invalid regexp or glob is reported with the expression', () => {
    assert.match(
      parseError('node==/node[/').message,
      /^constraint "node==\/node\[\/": invalid regexp \/node\[\//,
    );
    assert.match(parseError('node==/(?U)x/').message, /flag "U" is not supported/);
    assert.match(parseError('node==foo(').message, /invalid value "foo\("/);
  });

  test('ExpressionError is a 400 ValidationError with a hint', () => {
    const err = parseError('region=eu');
    assert.ok(err instanceof ValidationError);
    assert.equal(err.status, 400);
    assert.equal(err.code, 'invalid_input');
    assert.equal(err.expression, 'region=eu');
    assert.match(err.hint ?? '', /constraint:region==eu/);
  });
});

describe('matchExpression', () => {
  const m = (text: string, ...values: string[]): boolean =>
    matchExpression(parseExpression('constraint', text), values);

  test('== and != over several values (any for ==, none for !=)', () => {
    assert.equal(m('k==foo', 'foo'), true);
    assert.equal(m('k==foo', 'bar'), false);
    assert.equal(m('k==foo', 'foo', 'bar'), true);
    assert.equal(m('k!=foo', 'foo'), false);
    assert.equal(m('k!=foo', 'bar'), true);
    assert.equal(m('k!=foo', 'foo', 'bar'), false);
    assert.equal(m('k!=foo', 'bar', 'foo'), false);
    assert.equal(m('k==foo'), false);
    assert.equal(m('k!=foo'), true);
  });

  test('globs are anchored', () => {
    assert.equal(m('k==f*o', 'foo'), true);
    assert.equal(m('k==f*o', 'fuo'), true);
    assert.equal(m('k==f*o', 'foox'), false);
    assert.equal(m('k==us*', 'us-east'), true);
    assert.equal(m('k==us*', 'eu'), false);
    assert.equal(m('k==*us*', 'aus-x'), true);
    assert.equal(m('k!=f*o', 'foo', 'fuo', 'bar'), false);
  });

  test('regexps are unanchored, as with Go MatchString', () => {
    assert.equal(m('node==/node\\d/', 'node1'), true);
    assert.equal(m('node==/node\\d/', 'my-node7-x'), true);
    assert.equal(m('node==/node\\d/', 'node-1'), false);
    assert.equal(m('node==/node[12]/', 'node2'), true);
    assert.equal(m('node!=/node-[01]/', 'node-1'), false);
    assert.equal(m('node!=/foo\\[bar\\]/', 'foo[bar]'), false);
    assert.equal(m('node==/^$/', ''), true);
    assert.equal(m('node==/(?P<n>a)b/', 'ab'), true);
  });

  test('matching is case-sensitive unless the regexp starts with (?i), as in Swarm', () => {
    assert.equal(m('name==/abcdef/', 'aBcDeF'), false);
    assert.equal(m('name==/(?i)abcdef/', 'aBcDeF'), true);
    assert.equal(m('node==/(?i)node1/', 'NoDe1'), true);
    assert.equal(m('name==abcdef', 'aBcDeF'), false);
  });

  test('a missing label (the empty string) fails == and passes !=', () => {
    assert.equal(m('region==eu', ''), false);
    assert.equal(m('region!=eu', ''), true);
  });
});

describe('narrowByExpressions', () => {
  const items = ['a1', 'a2', 'b1'];
  const test1 = (e: ReturnType<typeof parseExpression>, item: string): boolean => matchExpression(e, [item]);

  test('ANDs the expressions in order', () => {
    const exprs = ['x==a*', 'x!=*2'].map((t) => parseExpression('constraint', t));
    assert.deepEqual(narrowByExpressions(exprs, items, test1).remaining, ['a1']);
  });

  test('stops at the first hard expression that leaves nothing', () => {
    const exprs = ['x==a*', 'x==b*', 'x==*'].map((t) => parseExpression('constraint', t));
    const r = narrowByExpressions(exprs, items, test1);
    assert.deepEqual(r.remaining, []);
    assert.equal(r.failed?.text, 'x==b*');
    assert.deepEqual(r.before, ['a1', 'a2']);
  });

  test('skips a soft expression that would leave nothing, keeps one that does not', () => {
    const exprs = ['x==~c*', 'x==~a*'].map((t) => parseExpression('constraint', t));
    const r = narrowByExpressions(exprs, items, test1);
    assert.deepEqual(r.remaining, ['a1', 'a2']);
    assert.deepEqual(
      r.skippedSoft.map((e) => e.text),
      ['x==~c*'],
    );
  });
});

test('lookupLabel tries the exact key, then ignores case', () => {
  assert.equal(lookupLabel({ Region: 'eu', region: 'us' }, 'region'), 'us');
  assert.equal(lookupLabel({ Region: 'eu' }, 'region'), 'eu');
  assert.equal(lookupLabel({}, 'region'), undefined);
});

describe('extractSchedulingFromRequest', () => {
  test('takes constraint:, affinity: and reschedule: entries out of env', () => {
    const req = makeRequest({
      env: [
        'PATH=/bin',
        'constraint:region==eu',
        'affinity:container==web',
        'constraint:node!=n2',
        'reschedule:on-node-failure',
        'NOTE=constraint:kept',
      ],
    });
    const p = extractSchedulingFromRequest(req);
    assert.deepEqual(
      p.constraints.map((e) => e.text),
      ['region==eu', 'node!=n2'],
    );
    assert.deepEqual(
      p.affinities.map((e) => e.text),
      ['container==web'],
    );
    assert.deepEqual(p.reschedulePolicies, ['on-node-failure']);
    assert.deepEqual(p.env, ['PATH=/bin', 'NOTE=constraint:kept']);
    assert.equal(p.labels[CONSTRAINTS_LABEL], '["region==eu","node!=n2"]');
    assert.equal(p.labels[AFFINITIES_LABEL], '["container==web"]');
    assert.equal(p.labels[RESCHEDULE_POLICIES_LABEL], '["on-node-failure"]');
  });

  test('reads the com.docker.swarm.* labels first, then env; duplicates once', () => {
    const req = makeRequest({
      env: ['constraint:node!=n2', 'constraint:region==eu'],
      labels: {
        app: 'web',
        [CONSTRAINTS_LABEL]: '["region==eu","storage==ssd"]',
        [AFFINITIES_LABEL]: '["image==redis"]',
        [RESCHEDULE_POLICIES_LABEL]: '["on-node-failure"]',
      },
    });
    const p = extractSchedulingFromRequest(req);
    assert.deepEqual(
      p.constraints.map((e) => e.text),
      ['region==eu', 'storage==ssd', 'node!=n2'],
    );
    assert.deepEqual(
      p.affinities.map((e) => e.text),
      ['image==redis'],
    );
    assert.deepEqual(p.reschedulePolicies, ['on-node-failure']);
    assert.equal(p.labels['app'], 'web');
    assert.equal(p.labels[CONSTRAINTS_LABEL], '["region==eu","storage==ssd","node!=n2"]');
  });

  test('does not modify the request', () => {
    const req = makeRequest({ env: ['constraint:region==eu', 'A=1'], labels: { app: 'x' } });
    const before = structuredClone(req);
    const p = extractSchedulingFromRequest(req);
    assert.deepEqual(req, before);
    assert.notEqual(p.labels, req.labels);
    assert.notEqual(p.env, req.env);
  });

  test('no scheduling entries: empty lists, env and labels unchanged, no swarm labels added', () => {
    const p = extractSchedulingFromRequest(makeRequest({ env: ['A=1'], labels: { a: 'b' } }));
    assert.deepEqual(p.constraints, []);
    assert.deepEqual(p.affinities, []);
    assert.deepEqual(p.reschedulePolicies, []);
    assert.deepEqual(p.env, ['A=1']);
    assert.deepEqual(p.labels, { a: 'b' });
  });

  test('a bare (non-JSON) label value is one entry; a broken JSON array is an error', () => {
    const p = extractSchedulingFromRequest(
      makeRequest({
        labels: { [CONSTRAINTS_LABEL]: 'region==eu', [RESCHEDULE_POLICIES_LABEL]: 'on-node-failure' },
      }),
    );
    assert.deepEqual(
      p.constraints.map((e) => e.text),
      ['region==eu'],
    );
    assert.deepEqual(p.reschedulePolicies, ['on-node-failure']);
    assert.throws(
      () => extractSchedulingFromRequest(makeRequest({ labels: { [CONSTRAINTS_LABEL]: '["region==eu"' } })),
      (err: unknown) =>
        err instanceof ExpressionError &&
        /com\.docker\.swarm\.constraints.*expected a JSON array of strings/.test(err.message),
    );
    assert.throws(
      () => extractSchedulingFromRequest(makeRequest({ labels: { [AFFINITIES_LABEL]: '[1,2]' } })),
      ExpressionError,
    );
  });

  test('a bad expression anywhere throws ExpressionError naming it', () => {
    assert.throws(() => extractSchedulingFromRequest(makeRequest({ env: ['constraint:region=eu'] })), {
      message: 'constraint "region=eu": expected one of ==, !=, ==~, !=~',
    });
    assert.throws(
      () =>
        extractSchedulingFromRequest(makeRequest({ labels: { [AFFINITIES_LABEL]: '["container=web"]' } })),
      { message: 'affinity "container=web": expected one of ==, !=, ==~, !=~' },
    );
  });

  test('reschedule policies: off or on-node-failure, only one', () => {
    assert.deepEqual(
      extractSchedulingFromRequest(makeRequest({ env: ['reschedule:off'] })).reschedulePolicies,
      ['off'],
    );
    assert.throws(
      () => extractSchedulingFromRequest(makeRequest({ env: ['reschedule:always'] })),
      (err: unknown) =>
        err instanceof ExpressionError &&
        err.message ===
          'reschedule "always": unknown reschedule policy; expected one of off, on-node-failure',
    );
    assert.throws(
      () =>
        extractSchedulingFromRequest(makeRequest({ env: ['reschedule:off', 'reschedule:on-node-failure'] })),
      /conflicting reschedule policies/,
    );
    const same = extractSchedulingFromRequest(
      makeRequest({
        env: ['reschedule:on-node-failure'],
        labels: { [RESCHEDULE_POLICIES_LABEL]: '["on-node-failure"]' },
      }),
    );
    assert.deepEqual(same.reschedulePolicies, ['on-node-failure']);
  });

  test('the labels it returns reproduce the same scheduling (restore and migration re-use them)', () => {
    const first = extractSchedulingFromRequest(
      makeRequest({
        env: ['constraint:region==~eu*', 'affinity:image==redis', 'reschedule:on-node-failure', 'A=1'],
      }),
    );
    const again = extractSchedulingFromRequest(makeRequest({ env: first.env, labels: first.labels }));
    assert.deepEqual(
      again.constraints.map((e) => [e.text, e.soft]),
      [['region==~eu*', true]],
    );
    assert.deepEqual(
      again.affinities.map((e) => e.text),
      ['image==redis'],
    );
    assert.deepEqual(again.reschedulePolicies, ['on-node-failure']);
    assert.deepEqual(again.labels, first.labels);
  });
});

test('a /regex/ or glob that could backtrack for ever is a 400 naming the expression', () => {
  assert.throws(
    () => parseExpression('constraint', 'node==/(a+)+$/'),
    (e: unknown) =>
      e instanceof ValidationError && /node==\/\(a\+\)\+\$\//.test(e.message) && /refused/.test(e.message),
  );
  assert.throws(() => parseExpression('constraint', 'region==(a+)+b'), /refused/);
  assert.equal(parseExpression('constraint', 'region==/(eu|us)-.*/').key, 'region');
});
