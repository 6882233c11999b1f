import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ValidationError } from '../util/errors.ts';
import { jsonSchemaOf, parseBody } from '../util/schema.ts';
import { CheckpointBody, MigrateBody, RestoreBody, RevokeBody } from './api-bodies.ts';
import { openApiDocument } from './openapi.ts';
import { CREATE_FIELDS } from '../api/docker/create-fields.ts';

function refusal(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ValidationError, String(err));
    return err;
  }
  assert.fail('expected a 400');
}

describe('the lifeboat API request bodies (one declaration: validation, types, OpenAPI)', () => {
  test('a field the API does not know is refused by name, with the fields it takes', () => {
    const e = refusal(() =>
      parseBody(MigrateBody, { to: 'n2', keepconnections: true }, 'a migration request'),
    );
    assert.equal(e.status, 400);
    assert.match(e.message, /^a migration request: "keepconnections" is not a field of it$/);
    assert.match(
      e.hint ?? '',
      /the fields it takes: to, env, labels, via, compression, withNetwork, keepConnections/,
    );
  });

  test('wrong types and values name the field and what was expected', () => {
    assert.match(
      refusal(() => parseBody(MigrateBody, { via: 'ftp' }, 'a migration request')).message,
      /via: .*"stream"\|"store"/,
    );
    assert.match(
      refusal(() => parseBody(MigrateBody, { env: ['a', 1] }, 'a migration request')).message,
      /env\[1\]: .*expected string/,
    );
    assert.match(
      refusal(() => parseBody(MigrateBody, { to: '../etc' }, 'a migration request')).message,
      /to: expected a host name/,
    );
    assert.match(
      refusal(() => parseBody(CheckpointBody, {}, 'a checkpoint request')).message,
      /imageDir is required \(string\)/,
    );
    assert.match(
      refusal(() => parseBody(RestoreBody, { imageDir: '/x', force: 'yes' }, 'a restore request')).message,
      /force: .*expected boolean/,
    );
    assert.match(
      refusal(() => parseBody(RevokeBody, { serial: 'zz', name: 'a', role: 'agent' }, 'a revocation'))
        .message,
      /serial: expected a hexadecimal serial/,
    );
    assert.match(
      refusal(() => parseBody(MigrateBody, [], 'a migration request')).message,
      /the body: .*object/,
    );
  });

  test('what is declared parses to its type', () => {
    const b: MigrateBody = parseBody(
      MigrateBody,
      { to: 'n2', env: ['constraint:region==eu'], labels: { a: 'b' }, via: 'store', keepConnections: true },
      'x',
    );
    assert.equal(b.via, 'store');
    assert.deepEqual(parseBody(RestoreBody, { imageDir: '/x' }, 'x'), { imageDir: '/x' });
  });

  test('the OpenAPI document publishes the same declarations, closed to other fields', () => {
    const schemaOf = (path: string): unknown =>
      (
        openApiDocument.paths as unknown as Record<
          string,
          { post: { requestBody: { content: { 'application/json': { schema: unknown } } } } }
        >
      )[path]!.post.requestBody.content['application/json'].schema;
    const pairs: [string, Parameters<typeof jsonSchemaOf>[0]][] = [
      ['/lifeboat/v1/containers/{name}/migrate', MigrateBody],
      ['/lifeboat/v1/containers/{name}/checkpoint', CheckpointBody],
      ['/lifeboat/v1/containers/{name}/restore', RestoreBody],
      ['/lifeboat/v1/certificates/revoke', RevokeBody],
    ];
    for (const [path, schema] of pairs) {
      const published = schemaOf(path) as { additionalProperties?: boolean; properties?: object };
      assert.deepEqual(published, jsonSchemaOf(schema), path);
      assert.equal(published.additionalProperties, false, path);
    }
    assert.deepEqual(
      Object.keys(
        (schemaOf('/lifeboat/v1/containers/{name}/checkpoint') as { properties: object }).properties,
      ),
      Object.keys(CheckpointBody.shape),
    );
  });

  test("the Docker endpoint's container create body is published from the field table: every field, its status", () => {
    const published = (
      openApiDocument.components.schemas as unknown as Record<
        string,
        { properties: Record<string, { 'x-lifeboat-status': string; anyOf?: { properties?: object }[] }> }
      >
    )['DockerContainerCreate']!;
    const top = Object.keys(CREATE_FIELDS).filter((p) => !p.includes('.'));
    assert.deepEqual(Object.keys(published.properties).sort(), top.sort());
    for (const p of top)
      assert.equal(published.properties[p]!['x-lifeboat-status'], CREATE_FIELDS[p]!.status, p);
    const hostConfig = published.properties['HostConfig']!.anyOf![0]!.properties!;
    assert.deepEqual(
      Object.keys(hostConfig).sort(),
      Object.keys(CREATE_FIELDS)
        .filter((p) => p.startsWith('HostConfig.'))
        .map((p) => p.slice('HostConfig.'.length))
        .sort(),
    );
  });
});
