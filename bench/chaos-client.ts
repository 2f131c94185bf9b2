/**
 * The chaos bench's clients (bench/chaos.ts): each runs the agent flow (create -> estimate ->
 * generate -> review -> render -> publish) over and over, spreading requests over the serve
 * processes like a balancer without health checks, and retrying what the API says to retry
 * (503 with Retry-After, 409 idempotency_key_in_progress, 429, a connection that failed) with the
 * same Idempotency-Key. Every answer is recorded for the checks.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { sleep } from './chaos-cluster.js';

const spec = parse(fs.readFileSync(path.resolve(import.meta.dirname, '../spec/openapi.yaml'), 'utf8'));
const declared = new Map<string, Set<string>>();
for (const item of Object.values<any>(spec.paths)) {
  for (const op of Object.values<any>(item)) if (op?.operationId) declared.set(op.operationId, new Set(Object.keys(op.responses ?? {})));
}

export interface Answer { op: string; status: number; code: string | null; retryAfter: string | null; ms: number; serve: string; json: any; at: number }
export interface Failure { op: string; kind: string; serve: string; ms: number; at: number; detail: string }

export class Recorder {
  readonly answers: Answer[] = [];
  readonly failures: Failure[] = [];
  /** Answers a client must not see: 5xx other than 503, a status its operation does not declare, a 503 without Retry-After. */
  problems(): string[] {
    const out: string[] = [];
    for (const a of this.answers) {
      const why = a.status >= 500 && a.status !== 503 ? `${a.status}`
        : !declared.get(a.op)?.has(String(a.status)) ? `${a.status} not declared`
          : a.status === 503 && !a.retryAfter ? '503 without Retry-After' : null;
      if (why) out.push(`${a.op} on ${a.serve}: ${why} ${a.code ?? ''} ${JSON.stringify(a.json)?.slice(0, 300)}`);
    }
    return out;
  }
}

export interface Account { id: string; key: string; channelId: string }

export interface FlowRecord {
  account: string;
  workflowId: string | null;
  generations: string[];
  renders: string[];
  publications: string[];
  /** The generate calls' ids as first answered for each Idempotency-Key (a replay must match). */
  idem: Map<string, string>;
  outcome: string;
}

export class Client {
  private next = 0;
  constructor(readonly serves: number[], readonly rec: Recorder, readonly timeoutMs: number, readonly isDown: (port: number, at: number) => boolean) {}

  private pick(): number {
    this.next = (this.next + 1 + Math.floor(Math.random() * 2)) % this.serves.length;
    return this.serves[this.next]!;
  }

  /** One logical request, retried as the API advises until it answers something final. */
  async request(op: string, method: string, p: string, opts: { key: string; body?: unknown; idem?: string; deadlineMs?: number }): Promise<Answer> {
    const until = Date.now() + (opts.deadlineMs ?? 240_000);
    for (let attempt = 0; ; attempt++) {
      const port = this.pick();
      const serve = `:${port}`;
      const started = Date.now();
      const headers: Record<string, string> = { authorization: `Bearer ${opts.key}` };
      if (opts.body !== undefined) headers['content-type'] = 'application/json';
      if (opts.idem) headers['idempotency-key'] = opts.idem;
      let answer: Answer | null = null;
      try {
        const res = await fetch(`http://127.0.0.1:${port}/v1${p}`, {
          method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body), signal: AbortSignal.timeout(this.timeoutMs),
        });
        const text = await res.text();
        let json: any = null;
        try { json = JSON.parse(text); } catch { json = text.slice(0, 200); }
        answer = { op, status: res.status, code: json?.error?.code ?? null, retryAfter: res.headers.get('retry-after'), ms: Date.now() - started, serve, json, at: started };
        this.rec.answers.push(answer);
      } catch (err: any) {
        const kind = err?.name === 'TimeoutError' ? 'timeout' : String(err?.cause?.code ?? err?.cause?.message ?? err?.message);
        // A request cut by its server's kill or drain is the network's answer, not the API's.
        const excused = this.isDown(port, started);
        this.rec.failures.push({ op, kind: excused ? `${kind} (server went down)` : kind, serve, ms: Date.now() - started, at: started, detail: excused ? '' : String(err?.cause ?? err) });
      }
      const retry = !answer || answer.status === 503 || answer.status === 429 || answer.code === 'idempotency_key_in_progress';
      if (!retry || Date.now() > until) {
        if (!answer) throw new Error(`${op}: no answer within the deadline`);
        return answer;
      }
      const advised = Number(answer?.retryAfter ?? 0) * 1000;
      await sleep(Math.min(advised || 300 * 2 ** Math.min(attempt, 4), 3000) * (0.5 + Math.random()));
    }
  }

  /** Polls a status operation until `done` says the object reached a final state. */
  async poll(op: string, p: string, key: string, done: (j: any) => boolean, limitMs: number): Promise<any> {
    const until = Date.now() + limitMs;
    for (;;) {
      const a = await this.request(op, 'GET', p, { key });
      if (a.status === 200 && done(a.json)) return a.json;
      if (a.status !== 200) throw new Error(`${op} ${p}: ${a.status} ${a.code}`);
      if (Date.now() > until) throw new Error(`${op} ${p}: not final after ${limitMs} ms (${a.json?.status})`);
      await sleep(700);
    }
  }

  /** The agent's flow once, start to finish. Records what it created and how it ended. */
  async flow(acc: Account, n: number): Promise<FlowRecord> {
    const r: FlowRecord = { account: acc.id, workflowId: null, generations: [], renders: [], publications: [], idem: new Map(), outcome: 'started' };
    const key = acc.key;
    const idem = (what: string) => `${what}-${crypto.randomUUID()}`;
    try {
      const createKey = idem('create');
      const body = { name: `chaos ${n}`, shots: [{ prompt: `scene one of ${n}`, duration_s: 1 }, { prompt: `scene two of ${n}`, duration_s: 1 }] };
      const created = await this.request('create_workflow', 'POST', '/workflows', { key, body, idem: createKey });
      if (created.status !== 201) return { ...r, outcome: `create ${created.status} ${created.code}` };
      const wf = created.json;
      r.workflowId = wf.id;
      r.idem.set(createKey, wf.id);
      await this.request('estimate_cost', 'GET', `/workflows/${wf.id}/cost-estimate`, { key });

      for (let round = 0; round < 3; round++) {
        const genKey = idem('gen');
        const gen = await this.request('generate_scene', 'POST', `/workflows/${wf.id}/generate`, { key, body: {}, idem: genKey });
        if (gen.status === 202) { r.generations.push(gen.json.id); r.idem.set(genKey, gen.json.id); }
        else if (!(gen.status === 409 && gen.code === 'generation_in_progress')) return { ...r, outcome: `generate ${gen.status} ${gen.code}` };
        const status = await this.poll('get_generation_status', `/workflows/${wf.id}/generation-status`, key, (j) => j.status === 'succeeded' || j.status === 'failed', 300_000);
        if (status.status === 'succeeded') break;
        if (round === 2) return { ...r, outcome: 'generation failed 3 times' };
      }
      const got = await this.request('get_workflow', 'GET', `/workflows/${wf.id}`, { key });
      const nodeId = got.json?.scenes?.[0]?.node_id;
      if (nodeId) await this.request('get_scene_frame', 'POST', `/workflows/${wf.id}/scene-frame`, { key, body: { node_id: nodeId, at_s: 0.5 } });

      let rendered = false;
      for (let round = 0; round < 3 && !rendered; round++) {
        const renderKey = idem('render');
        const render = await this.request('create_render', 'POST', `/workflows/${wf.id}/renders`, { key, body: {}, idem: renderKey });
        if (render.status !== 202) return { ...r, outcome: `render ${render.status} ${render.code}` };
        r.renders.push(render.json.id);
        r.idem.set(renderKey, render.json.id);
        const done = await this.poll('get_render', `/workflows/${wf.id}/renders/${render.json.id}`, key, (j) => ['succeeded', 'failed', 'canceled'].includes(j.status), 300_000);
        rendered = done.status === 'succeeded';
      }
      if (!rendered) return { ...r, outcome: 'render failed 3 times' };

      const pubKey = idem('publish');
      const pub = await this.request('publish_video', 'POST', `/workflows/${wf.id}/publish`, { key, body: { channel_id: acc.channelId, title: `chaos ${n}` }, idem: pubKey });
      if (pub.status !== 202) return { ...r, outcome: `publish ${pub.status} ${pub.code}` };
      r.publications.push(pub.json.id);
      r.idem.set(pubKey, pub.json.id);
      const published = await this.poll('get_publication', `/publications/${pub.json.id}`, key, (j) => ['published', 'failed', 'canceled'].includes(j.status), 300_000);
      return { ...r, outcome: `publication ${published.status}` };
    } catch (err) {
      return { ...r, outcome: `client gave up: ${String(err).slice(0, 200)}` };
    }
  }
}
