import { Command, CommanderError } from 'commander';
import { LifeboatError } from '../util/errors.ts';
import { registerAgent } from './commands/agent.ts';
import { registerBench } from './commands/bench.ts';
import { registerCert } from './commands/cert.ts';
import { registerCheckpoint } from './commands/checkpoint.ts';
import { registerEvents } from './commands/events.ts';
import { registerManage } from './commands/manage.ts';
import { registerMigrate } from './commands/migrate.ts';
import { registerNode } from './commands/node.ts';
import { registerUp } from './commands/up.ts';
import { registerDashboard } from './commands/dashboard.ts';
import { registerDoctor } from './commands/doctor.ts';
import { registerTop } from './commands/top.ts';
import { registerRebalance } from './commands/rebalance.ts';
import { registerFenceGuard } from './commands/fence-guard.ts';
import { registerImages } from './commands/images.ts';
import { registerInstall } from './commands/install.ts';
import { registerContext } from './commands/context.ts';
import { registerInit, registerJoin } from './commands/join.ts';
import { registerEtcd } from './commands/etcd.ts';

// `lifeboat ... | head`: a reader that went away is not an error
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const program = new Command();
program
  .name('lifeboat')
  .description(
    "Keep containers' running state alive across a cluster of Podman hosts:\n" +
      'live migration, periodic checkpoints to shared storage, restore on host failure.',
  )
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerAgent(program);
registerFenceGuard(program);
registerCert(program);
registerInit(program);
registerJoin(program);
registerEtcd(program);
registerUp(program);
registerManage(program);
registerMigrate(program);
registerCheckpoint(program);
registerNode(program);
registerEvents(program);
registerDashboard(program);
registerTop(program);
registerRebalance(program);
registerDoctor(program);
registerInstall(program);
registerContext(program);
registerImages(program);
registerBench(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode;
  } else if (err instanceof LifeboatError) {
    process.stderr.write(`error: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ''}`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  }
}
