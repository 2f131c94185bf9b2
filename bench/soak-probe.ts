/**
 * What bench/soak.ts reads from a running process: through its inspector (started with
 * `--inspect=HOST:PORT`) it forces a full GC, then reads heap and handle counts and the largest
 * Map and Set sizes on the heap (a map that grows with distinct keys shows up there, whatever
 * module holds it); from /proc it reads RSS and open descriptors, and its children.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { connectInspector } from './inspector-socket.js';

export interface InspectorSample {
  heapUsedMb: number;
  handles: number;
  requests: number;
  topMaps: string[];
  topSets: string[];
}

export class Inspector {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();

  private ws!: { send(text: string): void; close(): void };

  private receive(text: string): void {
    const msg = JSON.parse(text) as { id?: number; result?: unknown; error?: { message: string } };
    const w = msg.id === undefined ? undefined : this.waiting.get(msg.id);
    if (!w) return;
    this.waiting.delete(msg.id!);
    if (msg.error) w.reject(new Error(msg.error.message));
    else w.resolve(msg.result);
  }

  static async connect(inspectPort: number): Promise<Inspector> {
    const list = await (await fetch(`http://127.0.0.1:${inspectPort}/json/list`)).json() as { webSocketDebuggerUrl: string }[];
    const inspector = new Inspector();
    inspector.ws = await connectInspector(list[0]!.webSocketDebuggerUrl, (text) => inspector.receive(text));
    return inspector;
  }

  send<T = any>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise((resolve, reject) => this.waiting.set(id, { resolve, reject }));
  }

  private async value<T>(expression: string): Promise<T> {
    const r = await this.send<{ result: { value: T }; exceptionDetails?: { text: string } }>('Runtime.evaluate', { expression, returnByValue: true });
    if (r.exceptionDetails) throw new Error(`${expression}: ${JSON.stringify(r.exceptionDetails)}`);
    return r.result.value;
  }

  /** The sizes of the largest instances of a collection class (Map, Set) on the heap. */
  private async topSizes(ctor: 'Map' | 'Set'): Promise<string[]> {
    const proto = await this.send<{ result: { objectId: string } }>('Runtime.evaluate', { expression: `${ctor}.prototype` });
    const found = await this.send<{ objects: { objectId: string } }>('Runtime.queryObjects', { prototypeObjectId: proto.result.objectId });
    const r = await this.send<{ result: { value: string[] }; exceptionDetails?: unknown }>('Runtime.callFunctionOn', {
      objectId: found.objects.objectId,
      functionDeclaration: `function () {
        const size = (m) => { try { return ${ctor}.prototype.has.call(m, undefined), m.size; } catch { return -1; } };
        const first = (m) => { for (const k of m.keys()) return typeof k === 'string' ? k.slice(0, 12) : typeof k; return ''; };
        return this.filter((m) => size(m) >= 0).sort((a, b) => size(b) - size(a)).slice(0, 5).map((m) => size(m) + (size(m) > 100 ? ':' + first(m) : ''));
      }`,
      returnByValue: true,
    });
    if (r.exceptionDetails) throw new Error(`sizes of ${ctor}: ${JSON.stringify(r.exceptionDetails)}`);
    await this.send('Runtime.releaseObject', { objectId: found.objects.objectId });
    await this.send('Runtime.releaseObject', { objectId: proto.result.objectId });
    return r.result.value;
  }

  async sample(): Promise<InspectorSample> {
    await this.send('HeapProfiler.collectGarbage');
    await this.send('HeapProfiler.collectGarbage');
    const heapUsedMb = await this.value<number>('process.memoryUsage().heapUsed / 1048576');
    const handles = await this.value<number>('process._getActiveHandles().length');
    const requests = await this.value<number>('process._getActiveRequests().length');
    return { heapUsedMb, handles, requests, topMaps: await this.topSizes('Map'), topSets: await this.topSizes('Set') };
  }

  close(): void {
    this.ws.close();
  }
}

export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

export function openFds(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

/** Children of `pid` (ffmpeg, ffprobe), and how many of them are zombies. */
export function children(pid: number): { live: number; zombies: number } {
  let out = '';
  try {
    out = execFileSync('ps', ['--ppid', String(pid), '-o', 'stat=,comm='], { encoding: 'utf8' });
  } catch {
    return { live: 0, zombies: 0 };
  }
  const lines = out.split('\n').filter((l) => l.trim());
  const zombies = lines.filter((l) => l.trim().startsWith('Z')).length;
  return { live: lines.length - zombies, zombies };
}

/** TCP sockets by state on a local port (server side), from /proc/net/tcp{,6}. */
export function socketStates(port: number): Record<string, number> {
  const names: Record<string, string> = { '01': 'ESTAB', '06': 'TIME_WAIT', '08': 'CLOSE_WAIT', '0A': 'LISTEN', '04': 'FIN_WAIT1', '05': 'FIN_WAIT2', '09': 'LAST_ACK' };
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const counts: Record<string, number> = {};
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try { text = fs.readFileSync(file, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 4 || !cols[1]!.endsWith(`:${hex}`)) continue;
      const state = names[cols[3]!] ?? cols[3]!;
      counts[state] = (counts[state] ?? 0) + 1;
    }
  }
  return counts;
}

/** Files and bytes under a directory, recursively. */
export function dirUsage(dir: string): { files: number; mb: number } {
  let files = 0;
  let bytes = 0;
  const walk = (d: string) => {
    let entries: fs.Dirent[] = [];
    try { entries = fs.readdirSync(d, { withFileTypes: true }); } catch { return; }
    for (const e of entries) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else {
        files += 1;
        try { bytes += fs.statSync(p).size; } catch { /* gone meanwhile */ }
      }
    }
  };
  walk(dir);
  return { files, mb: bytes / 1048576 };
}

export function fileMb(file: string): number {
  try {
    return fs.statSync(file).size / 1048576;
  } catch {
    return 0;
  }
}
