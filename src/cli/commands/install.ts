import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { ValidationError } from '../../util/errors.ts';
import { installPlan, type InstallRole } from '../install-units.ts';
import { DEFAULT_PODMAN_SOCKET, DEFAULT_SPOOL_DIR } from './agent.ts';

interface InstallFlags {
  dryRun?: boolean;
  enable: boolean;
  unitDir: string;
  configDir: string;
  containersConfDir: string;
  bin?: string;
  json?: boolean;
}

const HELP = `
Writes the systemd units of a host's role and the file their arguments live
in, then enables and starts them (where systemd runs):
  agent    lifeboat-agent.service, lifeboat-fence-guard.service (its own unit,
           so that a dead agent still gets its host fenced), Podman's API
           socket (podman.socket), and a containers.conf drop-in with the
           Podman settings the agent needs (cgroupfs, runc)
  manager  lifeboat-manager.service
  etcd     lifeboat-etcd.service: one member of the store (lifeboat etcd member --help)
The arguments after -- are those of \`lifeboat agent\`, \`lifeboat manage\` or
\`lifeboat etcd member\`;
they go into <config-dir>/<role>.env (0600), which you may edit later.

Examples:
  lifeboat install agent --dry-run -- --name node1 --address 10.0.1.11 \\
    --manager 10.0.0.1:7440 --pki /var/lib/lifeboat/pki/node1 \\
    --checkpoint-dir /mnt/lifeboat --cluster-key /etc/lifeboat/cluster.key
  lifeboat install manager -- --name m1 --listen 10.0.0.1:7440 \\
    --store etcd://10.0.0.1:2379 --pki /var/lib/lifeboat/pki/m1 ...
  lifeboat install etcd -- --name e1 --address 10.0.0.1 \\
    --initial-cluster e1=10.0.0.1,e2=10.0.0.2,e3=10.0.0.3 --pki /var/lib/lifeboat/pki/etcd-e1`;

/** This program's own launcher (bin/lifeboat), for ExecStart. */
function ownBin(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../../../bin/lifeboat', '../../bin/lifeboat']) {
    const p = resolve(here, up);
    if (existsSync(p)) return realpathSync(p);
  }
  return '/usr/local/bin/lifeboat';
}

export function registerInstall(program: Command): void {
  program
    .command('install')
    .description("write and enable this host's systemd units for a role (agent, manager or etcd)")
    .argument('<role>', 'agent, manager or etcd')
    .argument(
      '[args...]',
      'after --: the arguments of lifeboat agent / lifeboat manage / lifeboat etcd member',
    )
    .option('--dry-run', 'print the files and the systemctl commands; change nothing')
    .option('--no-enable', 'write the files only')
    .option('--unit-dir <dir>', 'where the units go', '/etc/systemd/system')
    .option('--config-dir <dir>', 'where the argument files go', '/etc/lifeboat')
    .option('--containers-conf-dir <dir>', "Podman's drop-in directory", '/etc/containers/containers.conf.d')
    .option('--bin <path>', 'the lifeboat program the units run (default: this one)')
    .option('--json', 'print the plan as JSON')
    .addHelpText('after', HELP)
    .action((role: string, args: string[], f: InstallFlags) => {
      if (role !== 'agent' && role !== 'manager' && role !== 'etcd')
        throw new ValidationError(
          `role ${role}: use agent, manager or etcd`,
          'lifeboat install agent -- --name node1 ...',
        );
      if (args.length === 0)
        throw new ValidationError(
          `no arguments for lifeboat ${role === 'agent' ? 'agent' : role === 'etcd' ? 'etcd member' : 'manage'}`,
          `give them after --, e.g. lifeboat install ${role} -- --name ${role === 'agent' ? 'node1' : 'm1'} ...`,
        );
      if (role === 'agent' && !args.includes('--name'))
        throw new ValidationError('the agent needs --name (the name in its certificate)');
      const flagValue = (name: string): string | undefined => {
        const at = args.indexOf(name);
        return at >= 0 ? args[at + 1] : undefined;
      };
      const plan = installPlan({
        role: role as InstallRole,
        bin: f.bin ?? ownBin(),
        args,
        unitDir: f.unitDir,
        configDir: f.configDir,
        containersConfDir: f.containersConfDir,
        podmanSocket: flagValue('--podman-socket') ?? DEFAULT_PODMAN_SOCKET,
        spoolDir: flagValue('--spool-dir') ?? DEFAULT_SPOOL_DIR,
      });
      const systemd = existsSync('/run/systemd/system');
      const commands = f.enable
        ? systemd
          ? [
              ['systemctl', 'daemon-reload'],
              ['systemctl', 'enable', '--now', ...plan.enable],
            ]
          : [['systemctl', 'enable', ...plan.enable]]
        : [];
      if (f.json) {
        process.stdout.write(
          JSON.stringify({ ...plan, commands, dryRun: f.dryRun ?? false }, null, 2) + '\n',
        );
        if (f.dryRun) return;
      } else if (f.dryRun) {
        for (const file of plan.files)
          process.stdout.write(`# ${file.path} (mode ${file.mode.toString(8)})\n${file.content}\n`);
        for (const c of commands) process.stdout.write(`$ ${c.join(' ')}\n`);
        return;
      }
      for (const file of plan.files) {
        mkdirSync(dirname(file.path), { recursive: true });
        writeFileSync(file.path, file.content, { mode: file.mode });
        chmodSync(file.path, file.mode);
        if (!f.json) process.stdout.write(`wrote ${file.path}\n`);
      }
      for (const [cmd, ...rest] of commands) {
        execFileSync(cmd!, rest, { stdio: 'inherit' });
        if (!f.json) process.stdout.write(`ran ${cmd} ${rest.join(' ')}\n`);
      }
      if (!f.json && f.enable && !systemd)
        process.stdout.write(
          'systemd is not running here: the units are enabled for the next boot, nothing was started\n',
        );
    });
}
