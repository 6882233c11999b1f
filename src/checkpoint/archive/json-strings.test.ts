import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { insertTopLevelMember, rewriteJsonStrings, type JsonPath } from './json-strings.ts';

describe('rewriteJsonStrings', () => {
  test('changes only the string values asked for and keeps every other byte', () => {
    const text =
      '{\n  "rlimits": [{"type": "RLIMIT_MEMLOCK", "hard": 18446744073709551615}],\n  "root": {"path": "/a/b"}\n}';
    const out = rewriteJsonStrings(text, (_path, v) => (v === '/a/b' ? '/c/b' : undefined));
    assert.equal(out.changed, 1);
    assert.equal(out.text, text.replace('"/a/b"', '"/c/b"'));
    assert.ok(out.text.includes('18446744073709551615'));
  });

  test('hands out the path of each value; keys are never rewritten', () => {
    const seen: Array<[JsonPath, string]> = [];
    const text = '{"a": {"b": ["x", {"c": "y"}], "d": "z"}, "e": [[], "w"], "k\\"q": "v"}';
    rewriteJsonStrings(text, (path, value) => {
      seen.push([path, value]);
      return value.toUpperCase();
    });
    assert.deepEqual(seen, [
      [['a', 'b', 0], 'x'],
      [['a', 'b', 1, 'c'], 'y'],
      [['a', 'd'], 'z'],
      [['e', 1], 'w'],
      [['k"q'], 'v'],
    ]);
  });

  test('decodes and re-encodes escapes', () => {
    const text = '{"p": "/run/\\u0041\\"x\\\\", "q": "\\u003cok\\u003e"}';
    const out = rewriteJsonStrings(text, (_p, v) =>
      v.startsWith('/run/') ? v.replace('/run/', '/srv/') : undefined,
    );
    assert.deepEqual(JSON.parse(out.text), { p: '/srv/A"x\\', q: '<ok>' });
    assert.ok(out.text.includes('"q": "\\u003cok\\u003e"'), 'untouched strings keep their escapes');
  });

  test('handles a top-level string and empty containers', () => {
    assert.equal(rewriteJsonStrings('"a"', () => 'b').text, '"b"');
    assert.equal(
      rewriteJsonStrings('{"a": [], "b": {}, "c": "x"}', (p) => (p[0] === 'c' ? 'y' : undefined)).text,
      '{"a": [], "b": {}, "c": "y"}',
    );
  });
});

describe('insertTopLevelMember', () => {
  test('adds a member to an indented object in the same style', () => {
    const out = insertTopLevelMember('{\n  "id": "x"\n}', 'cgroupParent', '/n2');
    assert.equal(out, '{\n  "cgroupParent": "/n2",\n  "id": "x"\n}');
  });

  test('adds a member to compact and empty objects', () => {
    assert.deepEqual(JSON.parse(insertTopLevelMember('{"id":"x"}', 'k', 'v')), { k: 'v', id: 'x' });
    assert.deepEqual(JSON.parse(insertTopLevelMember('{}', 'k', 'v')), { k: 'v' });
    assert.deepEqual(JSON.parse(insertTopLevelMember('{\n}', 'k', 'v')), { k: 'v' });
  });
});
