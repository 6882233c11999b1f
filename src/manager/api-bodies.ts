import { z } from 'zod';

/**
 * The lifeboat API's request bodies, declared once (src/util/schema.ts):
 * lifeboat-api.ts parses with them, their types come from them, and
 * openapi.ts publishes them. A field not declared here is refused.
 */

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/;
const hostName = z.string().regex(NAME, { error: 'expected a host name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)' });

export const MigrateBody = z.strictObject({
  to: hostName.optional().describe('the target host (default: the scheduler picks one)'),
  env: z.array(z.string()).optional().describe('extra Swarm expressions, e.g. constraint:region==eu'),
  labels: z.record(z.string(), z.string()).optional().describe('extra Swarm labels for the placement'),
  via: z
    .enum(['stream', 'store'])
    .optional()
    .describe('stream: agent to agent (default); store: through the shared checkpoint store'),
  compression: z
    .enum(['none', 'gzip', 'auto'])
    .optional()
    .describe("stream compression between the agents (default: the manager's)"),
  withNetwork: z
    .boolean()
    .optional()
    .describe(
      'also move every container sharing a network or volume with it, to the same host, one after the other',
    ),
  keepConnections: z
    .boolean()
    .optional()
    .describe(
      'refuse before anything is frozen unless its address follows it (the cluster network), so that established connections survive',
    ),
});
export type MigrateBody = z.infer<typeof MigrateBody>;

export const CheckpointBody = z.strictObject({
  imageDir: z.string().min(1).describe('the archive is written to <imageDir>/<name>.tar'),
  workDir: z
    .string()
    .min(1)
    .optional()
    .describe("where the dump's log (timings, CRIU statistics) is written; default imageDir"),
  leaveRunning: z.boolean().optional().describe('keep the container running after the dump'),
  preDump: z.boolean().optional().describe('needs soft-dirty tracking (501 otherwise)'),
  preImageDir: z.string().min(1).optional().describe("a pre-dump's directory the dump builds on"),
  trackMem: z.boolean().optional().describe('needs soft-dirty tracking (501 otherwise)'),
  tcpEstablished: z.boolean().optional().describe('checkpoint established TCP connections (default true)'),
});
export type CheckpointBody = z.infer<typeof CheckpointBody>;

export const RestoreBody = z.strictObject({
  imageDir: z.string().min(1).describe('the archive <imageDir>/<name>.tar'),
  workDir: z.string().min(1).optional().describe("where the restore's log is written; default imageDir"),
  node: hostName
    .optional()
    .describe("the host to restore on (default: where the container's record says, else any healthy host)"),
  force: z.boolean().optional().describe('replace a running container of that name (without: 409)'),
});
export type RestoreBody = z.infer<typeof RestoreBody>;

export const RevokeBody = z.strictObject({
  serial: z
    .string()
    .regex(/^[0-9A-Fa-f:]{1,128}$/, { error: 'expected a hexadecimal serial (colons allowed)' })
    .describe("the certificate's serial number"),
  name: z.string().min(1).describe("the certificate's common name"),
  role: z.enum(['client', 'agent', 'manager']),
});
export type RevokeBody = z.infer<typeof RevokeBody>;
