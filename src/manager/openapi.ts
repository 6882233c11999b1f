import {
  HEARTBEAT_PATH,
  HeartbeatRequestBody,
  HeartbeatResponseBody,
} from '../node-api/heartbeat-protocol.ts';
import { JOIN_CA_PATH, JOIN_PATH } from '../join/client.ts';
import { jsonSchemaOf } from '../util/schema.ts';
import { createBodySchema } from '../api/docker/create-fields.ts';
import { JoinRequestBody } from '../join/service.ts';
import { CheckpointBody, MigrateBody, RestoreBody, RevokeBody } from './api-bodies.ts';

/**
 * The lifeboat API as an OpenAPI 3.1 document, served at
 * GET /lifeboat/v1/openapi.json. A unit test keeps it and the router equal.
 */
const P = '/lifeboat/v1';
const name = {
  name: 'name',
  in: 'path',
  required: true,
  schema: { type: 'string', pattern: '^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$' },
};
const error = {
  description: 'error',
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
};

export const openApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'lifeboat API',
    version: '1',
    description:
      "What the Docker Engine API lacks: hosts, live migration, checkpoint versions, events; and agents' heartbeats. Mutual TLS: client or manager certificates; heartbeats need an agent certificate; only the join endpoints answer a caller without one.",
  },
  paths: {
    [HEARTBEAT_PATH]: {
      post: {
        summary: 'agent heartbeat: the host report; the answer lists containers the cluster runs elsewhere',
        requestBody: {
          required: true,
          content: { 'application/json': { schema: { $ref: '#/components/schemas/HeartbeatRequest' } } },
        },
        responses: {
          '200': {
            description: 'accepted',
            content: { 'application/json': { schema: { $ref: '#/components/schemas/HeartbeatResponse' } } },
          },
          '400': error,
          '401': error,
          '403': error,
        },
      },
    },
    [`${P}/nodes`]: {
      get: {
        summary: 'hosts with state, heartbeat age, containers and checkpoint capabilities',
        responses: { '200': { description: 'hosts' } },
      },
    },
    [`${P}/containers`]: {
      get: {
        summary: "the cluster's container records (host, generation, policy, ticker)",
        responses: { '200': { description: 'records' } },
      },
    },
    [`${P}/containers/{name}/checkpoints`]: {
      get: {
        summary: 'checkpoint groups and versions on the shared store',
        parameters: [name],
        responses: { '200': { description: 'groups' }, '400': error },
      },
    },
    [`${P}/data-plane`]: {
      get: {
        summary:
          'archive bytes this manager carried itself (docker checkpoint archives it keeps); migrations, store restores and image moves go agent to agent',
        responses: { '200': { description: '{manager, archiveBytesRelayed}' } },
      },
    },
    [`${P}/containers/{name}/migrate`]: {
      post: {
        summary:
          'live migration; the answer is NDJSON: {"step"} lines as steps change, then {"result"} or {"error"}',
        parameters: [
          name,
          { name: 'to', in: 'query', schema: { type: 'string' } },
          { name: 'via', in: 'query', schema: { enum: ['stream', 'store'] } },
          { name: 'compression', in: 'query', schema: { enum: ['none', 'gzip', 'auto'] } },
          { name: 'withNetwork', in: 'query', schema: { type: 'boolean' } },
          { name: 'keepConnections', in: 'query', schema: { type: 'boolean' } },
        ],
        requestBody: {
          content: {
            'application/json': {
              schema: jsonSchemaOf(MigrateBody),
            },
          },
        },
        responses: {
          '200': { description: 'progress stream', content: { 'application/x-ndjson': {} } },
          '400': error,
        },
      },
    },
    [`${P}/containers/{name}/checkpoint`]: {
      post: {
        summary: 'the thesis checkpoint command: dump to <imageDir>/<name>.tar, statistics to workDir',
        parameters: [name],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: jsonSchemaOf(CheckpointBody),
            },
          },
        },
        responses: {
          '200': { description: 'archive written' },
          '400': error,
          '404': error,
          '409': error,
          '501': error,
        },
      },
    },
    [`${P}/containers/{name}/restore`]: {
      post: {
        summary: 'the thesis restore command: restore <imageDir>/<name>.tar on a host',
        parameters: [name],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: jsonSchemaOf(RestoreBody),
            },
          },
        },
        responses: { '200': { description: 'restored' }, '400': error, '404': error, '409': error },
      },
    },
    [`${P}/events`]: {
      get: {
        summary: "the manager's decisions, oldest first",
        parameters: [
          { name: 'since', in: 'query', schema: { type: 'integer' } },
          { name: 'container', in: 'query', schema: { type: 'string' } },
        ],
        responses: { '200': { description: 'events' } },
      },
    },
    [`${P}/events/stream`]: {
      get: {
        summary:
          "the manager's decisions as server-sent events: those after `since` (or Last-Event-ID), then live",
        parameters: [
          { name: 'since', in: 'query', schema: { type: 'integer' } },
          { name: 'container', in: 'query', schema: { type: 'string' } },
        ],
        responses: {
          '200': { description: 'text/event-stream; one `data:` JSON event per message, `id:` its seq' },
        },
      },
    },
    [`${P}/overview`]: {
      get: {
        summary:
          "the dashboard's view: hosts, and containers with their policy, interval and newest checkpoint",
        responses: { '200': { description: 'overview' } },
      },
    },
    [`${P}/nodes/{name}/drain`]: {
      post: {
        summary:
          'drain a host: it takes no new container and its containers move elsewhere (NDJSON progress, then the result)',
        parameters: [
          name,
          { name: 'force', in: 'query', schema: { type: 'boolean' } },
          { name: 'parallel', in: 'query', schema: { type: 'string', pattern: '^(auto|[0-9]+)$' } },
        ],
        responses: {
          '200': { description: 'application/x-ndjson: {event} lines, then {result} or {error}' },
          '400': error,
          '404': error,
        },
      },
    },
    [`${P}/nodes/{name}/activate`]: {
      post: {
        summary: 'end a drain: the host takes new containers again',
        parameters: [name],
        responses: { '200': { description: '{wasDrained, progress}' } },
      },
    },
    [`${P}/nodes/{name}`]: {
      delete: {
        summary:
          'remove a host: revoke every certificate it used (refused at once by every manager); forget it once it is down and nothing is recorded on it',
        parameters: [name, { name: 'force', in: 'query', schema: { type: 'boolean' } }],
        responses: {
          '200': { description: '{name, revoked: [{serial, role}], recordRemoved, note?}' },
          '404': error,
          '409': error,
        },
      },
    },
    [`${P}/certificates`]: {
      get: {
        summary:
          'certificates the cluster knows (issued by a join, or first presented by a host) and the revoked ones',
        responses: {
          '200': {
            description:
              '{known: [{serial, role, name, at, via}], revoked: [{serial, role, name, revokedAt, by}]}',
          },
        },
      },
    },
    [`${P}/certificates/revoke`]: {
      post: {
        summary: 'revoke one certificate: every manager refuses it from its next request on',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: jsonSchemaOf(RevokeBody),
            },
          },
        },
        responses: { '200': { description: 'the revocation record' }, '400': error },
      },
    },
    [JOIN_CA_PATH]: {
      get: {
        summary:
          'the cluster CA certificate (PEM), without a client certificate: a joining host checks it against the digest its token pins',
        responses: { '200': { description: 'application/x-pem-file' } },
      },
    },
    [JOIN_PATH]: {
      post: {
        summary:
          "join with a token, without a client certificate: signs the host's certificate request for the token's role (src/join)",
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: jsonSchemaOf(JoinRequestBody),
            },
          },
        },
        responses: {
          '200': {
            description: '{role, name, certPem, caPem, serial, notAfter, clusterKey?, caKeyPem? (managers)}',
          },
          '400': error,
          '401': error,
          '409': error,
          '503': error,
        },
      },
    },
    [`${P}/join-tokens`]: {
      get: {
        summary: 'the join tokens: role, id, expiry, who made them (never the token)',
        responses: { '200': { description: '[{role, id, createdAt, expiresAt, expired, createdBy}]' } },
      },
    },
    [`${P}/join-tokens/{role}`]: {
      post: {
        summary:
          'make a new join token for the role (the old one stops working); the only time the token is shown',
        parameters: [
          { name: 'role', in: 'path', required: true, schema: { enum: ['agent', 'manager'] } },
          {
            name: 'ttl',
            in: 'query',
            schema: { type: 'string', description: 'duration, 1m to 8760h; default 24h' },
          },
        ],
        responses: { '200': { description: '{token, role, id, createdAt, expiresAt}' }, '400': error },
      },
    },
    [`${P}/rebalance`]: {
      post: {
        summary:
          'pack (empty the least-loaded hosts) or spread the containers by live moves: NDJSON {plan}, {move} lines, then {result}',
        parameters: [
          { name: 'mode', in: 'query', required: true, schema: { enum: ['pack', 'spread'] } },
          { name: 'dryRun', in: 'query', schema: { type: 'boolean' } },
        ],
        responses: { '200': { description: 'application/x-ndjson' }, '400': error },
      },
    },
    '/ui': {
      get: {
        summary: 'the dashboard page (docs/dashboard.md); /ui redirects to /ui/',
        responses: { '200': { description: 'text/html' }, '308': { description: 'to /ui/' } },
      },
    },
    '/ui/{file}': {
      get: {
        summary: "the dashboard's script and style sheet",
        parameters: [
          {
            name: 'file',
            in: 'path',
            required: true,
            schema: { enum: ['app.js', 'style.css', 'index.html'] },
          },
        ],
        responses: { '200': { description: 'the file' }, '404': error },
      },
    },
    [`${P}/leader`]: {
      get: {
        summary: 'the leading manager and whether this one leads',
        responses: { '200': { description: 'leader' } },
      },
    },
    [`${P}/openapi.json`]: {
      get: { summary: 'this document', responses: { '200': { description: 'OpenAPI 3.1' } } },
    },
    [`${P}/metrics`]: {
      get: {
        summary: "this manager's Prometheus metrics (docs/metrics.md)",
        responses: { '200': { description: 'Prometheus text format' } },
      },
    },
    [`${P}/healthz`]: {
      get: { summary: 'this manager process serves', responses: { '200': { description: 'ok' } } },
    },
    [`${P}/readyz`]: {
      get: {
        summary: 'this manager is ready: the store answers and a leader is known',
        responses: { '200': { description: 'ready' }, '503': { description: 'not ready, with the reasons' } },
      },
    },
  },
  components: {
    schemas: {
      Error: {
        type: 'object',
        required: ['message'],
        properties: { message: { type: 'string' }, code: { type: 'string' }, hint: { type: 'string' } },
      },
      HeartbeatRequest: jsonSchemaOf(HeartbeatRequestBody),
      HeartbeatResponse: jsonSchemaOf(HeartbeatResponseBody),
      // the Docker endpoint's POST /containers/create body: every field, its type, and what lifeboat does with it
      DockerContainerCreate: jsonSchemaOf(createBodySchema),
    },
  },
} as const;

/** `{method, pattern}` pairs the document describes. */
export function documentedRoutes(): { method: string; pattern: string }[] {
  return Object.entries(openApiDocument.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((m) => ({ method: m.toUpperCase(), pattern: path })),
  );
}
