import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkDir } from './checkpoint-commands.ts';

test('operator directories: absolute, no "..", no kernel file systems, named in the error', () => {
  assert.equal(checkDir('/srv/images', '--image-dir'), '/srv/images');
  assert.throws(() => checkDir('images', '--image-dir'), /--image-dir: .*absolute/);
  assert.throws(() => checkDir('/srv/../etc', '--work-dir'), /--work-dir: .*'\.\.'/);
  assert.throws(() => checkDir('/proc/self/x', '--image-dir'), /kernel file system/);
  assert.throws(() => checkDir('', '--image-dir'), /--image-dir is required/);
});
