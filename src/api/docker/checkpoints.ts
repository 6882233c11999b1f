import { ValidationError } from '../../util/errors.ts';
import type { Router } from '../http/router.ts';
import type { DockerBackend } from './backend.ts';
import { validateCheckpointDir, validateCheckpointId } from './validate.ts';

/** Docker's experimental checkpoint endpoints (`docker checkpoint create|ls|rm`). */
export function registerCheckpointRoutes(router: Router, backend: DockerBackend): void {
  router.post('/containers/{id}/checkpoints', async (ctx) => {
    const body = await ctx.json();
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      throw new ValidationError(
        'expected a JSON body {"CheckpointID": "...", "CheckpointDir": "", "Exit": true}',
      );
    const b = body as Record<string, unknown>;
    if (b['Exit'] !== undefined && typeof b['Exit'] !== 'boolean')
      throw new ValidationError('Exit must be true or false');
    const dir = validateCheckpointDir(b['CheckpointDir']);
    await backend.createCheckpoint(ctx.param('id'), {
      id: validateCheckpointId(b['CheckpointID']),
      exit: b['Exit'] === true,
      ...(dir ? { dir } : {}),
    });
    ctx.send(201);
  });

  router.get('/containers/{id}/checkpoints', async (ctx) => {
    const dir = validateCheckpointDir(ctx.string('dir'));
    ctx.send(200, await backend.listCheckpoints(ctx.param('id'), dir ? { dir } : {}));
  });

  router.delete('/containers/{id}/checkpoints/{checkpoint}', async (ctx) => {
    const dir = validateCheckpointDir(ctx.string('dir'));
    const id = validateCheckpointId(ctx.param('checkpoint'));
    await backend.deleteCheckpoint(ctx.param('id'), id, dir ? { dir } : {});
    ctx.send(204);
  });
}
