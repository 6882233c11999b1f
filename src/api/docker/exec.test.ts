import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseExecCreateBody, parseExecStartBody } from './exec.ts';

describe('exec bodies', () => {
  test('what the docker CLI, docker-py and dockerode send', () => {
    assert.deepEqual(
      parseExecCreateBody({
        Cmd: ['sh', '-c', 'echo hi'],
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        Env: ['A=1', 'PASS'],
        ConsoleSize: [0, 0],
        Container: 'web', // docker-py
        Detach: false,
        DetachKeys: '',
        Privileged: null,
      }),
      { Cmd: ['sh', '-c', 'echo hi'], AttachStdout: true, AttachStderr: true, Tty: false, Env: ['A=1'] },
    );
    assert.deepEqual(
      parseExecStartBody({ Detach: false, Tty: true, ConsoleSize: [24, 80], hijack: true, stdin: true }),
      {
        Detach: false,
        Tty: true,
        ConsoleSize: [24, 80],
      },
    );
    assert.deepEqual(parseExecStartBody(undefined), { Detach: false, Tty: false });
  });

  test('wrong shapes and unknown fields are 400s naming the field', () => {
    const cases: [unknown, RegExp][] = [
      [{}, /No exec command specified/],
      [{ Cmd: 'ls' }, /Cmd must be a list of strings/],
      [{ Cmd: ['ls'], Tty: 'yes' }, /Tty must be true or false/],
      [{ Cmd: ['ls'], ConsoleSize: [24] }, /ConsoleSize must be \[height, width\]/],
      [{ Cmd: ['ls'], ConsoleSize: [24, 70000] }, /ConsoleSize must be \[height, width\]/],
      [
        { Cmd: ['ls'], Frobnicate: 1 },
        /Frobnicate is not supported: lifeboat does not know this field of the exec create body/,
      ],
      [{ Cmd: ['ls'], WorkingDir: 'tmp' }, /must be an absolute path/],
      [[], /the body must be a JSON object/],
    ];
    for (const [body, re] of cases) assert.throws(() => parseExecCreateBody(body), re, JSON.stringify(body));
    assert.throws(() => parseExecStartBody({ Detach: 1 }), /Detach must be true or false/);
    assert.throws(() => parseExecStartBody({ Stream: true }), /Stream is not supported/);
  });
});
