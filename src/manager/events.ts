import { createLogger, type Logger, type LogFields } from '../util/log.ts';

/**
 * Cluster events: every decision the manager takes (placement, migration
 * step, checkpoint, failure, restore attempt) is an event and a log line.
 */
export interface ClusterEvent {
  seq: number;
  time: string;
  type: string;
  message: string;
  container?: string;
  node?: string;
  fields?: LogFields;
}

export class EventLog {
  private seq = 0;
  private readonly ring: ClusterEvent[] = [];
  private readonly subscribers = new Set<(e: ClusterEvent) => void>();
  private readonly log: Logger;

  constructor(
    private readonly capacity = 2000,
    logger?: Logger,
  ) {
    this.log = logger ?? createLogger('manager/events');
  }

  emit(
    type: string,
    message: string,
    extra: { container?: string; node?: string; level?: 'info' | 'warn' | 'error'; fields?: LogFields } = {},
  ): ClusterEvent {
    const e: ClusterEvent = {
      seq: ++this.seq,
      time: new Date().toISOString(),
      type,
      message,
      ...(extra.container ? { container: extra.container } : {}),
      ...(extra.node ? { node: extra.node } : {}),
      ...(extra.fields ? { fields: extra.fields } : {}),
    };
    this.ring.push(e);
    if (this.ring.length > this.capacity) this.ring.shift();
    this.log[extra.level ?? 'info'](message, {
      event: type,
      container: extra.container,
      node: extra.node,
      ...extra.fields,
    });
    for (const s of this.subscribers) s(e);
    return e;
  }

  since(seq: number, filter?: { container?: string; type?: string }): ClusterEvent[] {
    return this.ring.filter(
      (e) =>
        e.seq > seq &&
        (!filter?.container || e.container === filter.container) &&
        (!filter?.type || e.type.startsWith(filter.type)),
    );
  }

  subscribe(fn: (e: ClusterEvent) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }
}
