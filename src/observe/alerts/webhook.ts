/**
 * A webhook sink: a bounded queue of notifications delivered one at a time with undici, each a
 * JSON POST whose body is signed with HMAC-SHA256 (`X-Portcullis-Signature: sha256=<hex>`),
 * retried with exponential backoff and jitter on network errors, 408, 429 and 5xx.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { request } from 'undici';
import type { CounterMetric, Logger } from '../../core/services.js';
import type { WebhookConfig } from './schema.js';

export const SIGNATURE_HEADER = 'x-portcullis-signature';

export function signBody(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** Delay before retry number `attempt` (1-based): backoff * 2^(attempt-1), +-20% jitter, capped at 5 min. */
export function retryDelayMs(attempt: number, backoffMs: number, rand: number): number {
  const base = Math.min(300000, backoffMs * 2 ** (attempt - 1));
  return Math.round(base * (0.8 + 0.4 * rand));
}

export function retryable(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

interface Item {
  readonly body: string;
  readonly id: string;
  attempts: number;
}

export class WebhookSink {
  readonly name: string;
  private readonly queue: Item[] = [];
  private busy = false;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly cfg: WebhookConfig,
    private readonly logger: Logger,
    private readonly counters: { sent: CounterMetric<'webhook' | 'result'>; dropped: CounterMetric<'webhook'> },
  ) {
    let host = 'webhook';
    try {
      host = new URL(cfg.url).host;
    } catch {
      /* the schema checked the scheme */
    }
    this.name = cfg.name ?? host;
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Queues a notification; drops the oldest when the queue is full. */
  send(payload: Record<string, unknown>): void {
    if (this.closed) return;
    if (this.queue.length >= this.cfg.queue_size) {
      this.queue.shift();
      this.counters.dropped.inc({ webhook: this.name });
      this.logger.warn({ webhook: this.name }, 'alert webhook queue full: oldest notification dropped');
    }
    const id = randomUUID();
    this.queue.push({ id, body: JSON.stringify({ ...payload, delivery_id: id }), attempts: 0 });
    this.pump();
  }

  private pump(): void {
    if (this.busy || this.closed || this.timer) return;
    const item = this.queue[0];
    if (!item) return;
    this.busy = true;
    void this.deliver(item).then((done) => {
      this.busy = false;
      if (done) {
        if (this.queue[0] === item) this.queue.shift();
        this.pump();
        return;
      }
      const delay = retryDelayMs(item.attempts, this.cfg.backoff_ms, Math.random());
      this.timer = setTimeout(() => {
        this.timer = null;
        this.pump();
      }, delay);
      this.timer.unref();
    });
  }

  /** One attempt; true when the item is finished (delivered or given up). */
  private async deliver(item: Item): Promise<boolean> {
    item.attempts++;
    let outcome: string;
    try {
      const res = await request(this.cfg.url, {
        method: 'POST',
        body: item.body,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'portcullis-alerts',
          [SIGNATURE_HEADER]: signBody(this.cfg.secret, item.body),
          'x-portcullis-delivery': item.id,
        },
        headersTimeout: this.cfg.timeout_ms,
        bodyTimeout: this.cfg.timeout_ms,
      });
      await res.body.dump();
      if (res.statusCode >= 200 && res.statusCode < 300) {
        this.counters.sent.inc({ webhook: this.name, result: 'delivered' });
        return true;
      }
      outcome = `status ${res.statusCode}`;
      if (!retryable(res.statusCode)) {
        this.counters.sent.inc({ webhook: this.name, result: 'rejected' });
        this.logger.warn({ webhook: this.name, status: res.statusCode }, 'alert webhook refused the notification');
        return true;
      }
    } catch (e) {
      outcome = (e as { code?: string }).code ?? 'error';
    }
    if (item.attempts >= this.cfg.max_attempts) {
      this.counters.sent.inc({ webhook: this.name, result: 'failed' });
      this.logger.warn({ webhook: this.name, attempts: item.attempts, outcome }, 'alert webhook delivery failed');
      return true;
    }
    return false;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queue.length = 0;
  }
}
