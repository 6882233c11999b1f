import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lifeboatApiRouter } from './lifeboat-api.ts';
import type { Manager } from './manager.ts';
import { documentedRoutes, openApiDocument } from './openapi.ts';

test('the OpenAPI document lists exactly the routes the lifeboat API serves', () => {
  const key = (r: { method: string; pattern: string }): string => `${r.method} ${r.pattern}`;
  const served = lifeboatApiRouter({} as Manager)
    .list()
    .map(key)
    .sort();
  assert.deepEqual(documentedRoutes().map(key).sort(), served);
  assert.equal(openApiDocument.openapi, '3.1.0');
});
