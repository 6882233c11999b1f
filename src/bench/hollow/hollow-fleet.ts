import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { HostPort } from '../../agent/agent-config.ts';
import { LifeboatError } from '../../util/errors.ts';

/** What the bench asks of the fleet process, one message each. */
export type FleetCommand =
  | {
      type: 'start';
      /** The cluster CA's directory: each host gets an agent certificate of its own name from it. */
      caDir: string;
      hosts: { name: string; containers: number }[];
      managers: HostPort[];
      failureTimeoutMs: number;
    }
  | { type: 'kill'; names: string[] }
  | { type: 'delays' }
  | { type: 'counts' }
  | { type: 'stop' };

export type FleetAnswer =
  | { type: 'started'; ms: number }
  | { type: 'killed'; at: number }
  | { type: 'delays'; values: number[] }
  | { type: 'counts'; checkpoints: number; restores: number; containers: number }
  | { type: 'error'; message: string };

export class FleetError extends LifeboatError {
  constructor(message: string) {
    super('hollow_fleet', message, {
      hint: 'the hollow fleet runs in its own process (src/bench/hollow/fleet-main.ts); run it alone with LIFEBOAT_LOG_LEVEL=info to see why',
    });
  }
}

/**
 * Hollow hosts in a process of their own, so that what they cost never
 * counts as the managers' CPU and their event loop never delays the
 * bench's own measurements. Driven over IPC.
 */
export class HollowFleet {
  private readonly waiting: ((a: FleetAnswer) => void)[] = [];

  private constructor(private readonly child: ChildProcess) {
    child.on('message', (m: FleetAnswer) => this.waiting.shift()?.(m));
    child.on('exit', (code) => {
      for (const w of this.waiting.splice(0))
        w({ type: 'error', message: `the hollow fleet exited (${code}) before answering` });
    });
  }

  static spawn(): HollowFleet {
    const self = fileURLToPath(import.meta.url);
    const ts = self.endsWith('.ts');
    const main = self.replace(/hollow-fleet\.(ts|js)$/, ts ? 'fleet-main.ts' : 'fleet-main.js');
    const child = fork(main, [], {
      execArgv: ts ? ['--import', 'tsx'] : [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, LIFEBOAT_LOG_LEVEL: process.env['LIFEBOAT_LOG_LEVEL'] ?? 'error' },
    });
    return new HollowFleet(child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  private ask(c: FleetCommand): Promise<FleetAnswer> {
    return new Promise((resolve, reject) => {
      this.waiting.push((a) => (a.type === 'error' ? reject(new FleetError(a.message)) : resolve(a)));
      this.child.send(c);
    });
  }

  async start(c: Extract<FleetCommand, { type: 'start' }>): Promise<number> {
    return ((await this.ask(c)) as { ms: number }).ms;
  }

  /** Kills hosts at once; resolves with the wall-clock time (Date.now()) they died. */
  async kill(names: string[]): Promise<number> {
    return ((await this.ask({ type: 'kill', names })) as { at: number }).at;
  }

  async delays(): Promise<number[]> {
    return ((await this.ask({ type: 'delays' })) as { values: number[] }).values;
  }

  async counts(): Promise<{ checkpoints: number; restores: number; containers: number }> {
    const a = (await this.ask({ type: 'counts' })) as Extract<FleetAnswer, { type: 'counts' }>;
    return { checkpoints: a.checkpoints, restores: a.restores, containers: a.containers };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.send({ type: 'stop' } satisfies FleetCommand);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
