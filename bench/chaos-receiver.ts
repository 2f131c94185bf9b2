/**
 * The chaos bench's webhook receiver: one URL path per account (`/hook/<account id>`), each
 * delivery's signature checked with that endpoint's secret (Standard Webhooks). Answers 2xx, but
 * now and then 500 or a slow answer, so deliveries are retried too.
 */
import http from 'node:http';
import { Webhook } from 'standardwebhooks';

export interface Received { eventId: string; account: string; type: string; data: any; valid: boolean; at: number }

export class Receiver {
  readonly received: Received[] = [];
  readonly secrets = new Map<string, string>();
  private server: http.Server | null = null;

  listen(host: string, port: number): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const account = (req.url ?? '').split('/')[2] ?? '';
        let valid = false;
        let event: any = null;
        try {
          event = new Webhook(this.secrets.get(account) ?? '').verify(body, req.headers as Record<string, string>);
          valid = true;
        } catch {
          try { event = JSON.parse(body); } catch { event = null; }
        }
        this.received.push({ eventId: String(req.headers['webhook-id']), account, type: event?.type, data: event?.data, valid, at: Date.now() });
        const roll = Math.random();
        if (roll < 0.05) { res.writeHead(500).end(); return; }
        setTimeout(() => res.writeHead(204).end(), roll < 0.1 ? 1500 : 0);
      });
    });
    return new Promise((resolve) => this.server!.listen(port, host, resolve));
  }

  close(): Promise<void> {
    return new Promise((resolve) => { this.server?.closeAllConnections(); this.server?.close(() => resolve()); });
  }
}
