import { ValidationError } from '../util/errors.ts';

/**
 * What `lifeboat install` writes on a host: systemd units for the agent
 * (with the fence guard beside it), the manager or an etcd member, the environment file
 * each unit reads its arguments from, and a containers.conf drop-in that
 * gives Podman the settings the agent needs. Pure: the command decides
 * where the files go and whether systemd is asked to enable them.
 */

export type InstallRole = 'agent' | 'manager' | 'etcd';

const COMMANDS: Record<InstallRole, { command: string; variable: string }> = {
  agent: { command: 'agent', variable: 'LIFEBOAT_AGENT_ARGS' },
  manager: { command: 'manage', variable: 'LIFEBOAT_MANAGE_ARGS' },
  etcd: { command: 'etcd member', variable: 'LIFEBOAT_ETCD_ARGS' },
};

export interface InstallPlan {
  files: { path: string; mode: number; content: string }[];
  /** Units to enable (and start, where systemd runs). */
  enable: string[];
}

export interface InstallInput {
  role: InstallRole;
  /** The lifeboat program (ExecStart). */
  bin: string;
  /** Arguments of `lifeboat agent` or `lifeboat manage`, as the operator would type them. */
  args: string[];
  unitDir: string;
  configDir: string;
  /** The agent's Podman socket and spool dir (the fence guard needs both). */
  podmanSocket?: string;
  spoolDir?: string;
  containersConfDir?: string;
}

/** One shell-safe word for an environment file (systemd splits unquoted `$VAR` on spaces). */
function word(a: string): string {
  if (!/^[A-Za-z0-9_@%+=:,./-]+$/.test(a))
    throw new ValidationError(
      `argument ${JSON.stringify(a)} cannot go into a systemd environment file as one word`,
      'use values without spaces, quotes or shell characters',
    );
  return a;
}

function unit(description: string, needs: { after: string[]; wants: string[] }, service: string[]): string {
  return [
    '[Unit]',
    `Description=${description}`,
    `After=${needs.after.join(' ')}`,
    `Wants=${needs.wants.join(' ')}`,
    '',
    '[Service]',
    'Type=simple',
    ...service,
    'Restart=always',
    'RestartSec=1',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

export function installPlan(i: InstallInput): InstallPlan {
  if (!i.bin.startsWith('/')) throw new ValidationError(`--bin ${i.bin}: give the absolute path of lifeboat`);
  const envFile = `${i.configDir}/${i.role}.env`;
  const { variable, command } = COMMANDS[i.role];
  const files: InstallPlan['files'] = [
    {
      path: envFile,
      mode: 0o600,
      content: [
        `# Arguments of \`lifeboat ${command}\` (lifeboat ${command} --help); one line, words without spaces.`,
        `# Written by lifeboat install ${i.role}; edit and \`systemctl restart lifeboat-${i.role}\`.`,
        `${variable}=${i.args.map(word).join(' ')}`,
        '',
      ].join('\n'),
    },
  ];
  const enable: string[] = [];
  if (i.role === 'agent') {
    const socket = i.podmanSocket ?? '/run/podman/podman.sock';
    const spool = i.spoolDir ?? '/var/lib/lifeboat/spool';
    files.push({
      path: `${i.unitDir}/lifeboat-agent.service`,
      mode: 0o644,
      content: unit(
        'lifeboat agent: node API, heartbeats, checkpoints and moves of this host',
        {
          after: ['network-online.target', 'podman.socket'],
          wants: ['network-online.target', 'podman.socket'],
        },
        [
          `EnvironmentFile=${envFile}`,
          `ExecStart=${i.bin} agent $${variable}`,
          // the agent fences its host when cut off from every manager: systemd must not kill its children first
          'KillMode=process',
        ],
      ),
    });
    files.push({
      path: `${i.unitDir}/lifeboat-fence-guard.service`,
      mode: 0o644,
      content: unit(
        'lifeboat fence guard: fences this host when its agent cannot',
        { after: ['podman.socket'], wants: ['podman.socket'] },
        [
          `ExecStart=${i.bin} fence-guard --contact-file ${word(`${spool}/last-contact`)} --podman-socket ${word(socket)}`,
        ],
      ),
    });
    files.push({
      path: `${i.containersConfDir ?? '/etc/containers/containers.conf.d'}/50-lifeboat.conf`,
      mode: 0o644,
      content: [
        "# Written by lifeboat install agent: the settings the agent needs from this host's Podman.",
        '[engine]',
        "# containers live under the agent's --cgroup-parent (found, frozen and fenced together)",
        'cgroup_manager = "cgroupfs"',
        '# CRIU checkpoints need runc (crun is built without them on Debian)',
        'runtime = "runc"',
        '',
      ].join('\n'),
    });
    enable.push('podman.socket', 'lifeboat-agent.service', 'lifeboat-fence-guard.service');
  } else if (i.role === 'etcd') {
    files.push({
      path: `${i.unitDir}/lifeboat-etcd.service`,
      mode: 0o644,
      content: unit(
        "lifeboat etcd member: the cluster store's replica on this host",
        { after: ['network-online.target'], wants: ['network-online.target'] },
        [`EnvironmentFile=${envFile}`, `ExecStart=${i.bin} etcd member $${variable}`],
      ),
    });
    enable.push('lifeboat-etcd.service');
  } else {
    files.push({
      path: `${i.unitDir}/lifeboat-manager.service`,
      mode: 0o644,
      content: unit(
        'lifeboat manager: the cluster Docker endpoint, placement, tickers, failover',
        { after: ['network-online.target'], wants: ['network-online.target'] },
        [`EnvironmentFile=${envFile}`, `ExecStart=${i.bin} manage $${variable}`],
      ),
    });
    enable.push('lifeboat-manager.service');
  }
  return { files, enable };
}
