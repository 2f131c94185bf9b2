import { useMemo, useState } from 'preact/hooks';
import { sessionFetch } from '../api.js';
import { ErrorText } from '../components/Alert.js';
import { Shell } from '../components/Shell.js';
import { useAction, useLoad } from '../hooks.js';

interface Param { name: string; in: string; required?: boolean; description?: string; $ref?: string }
interface Op {
  id: string; method: string; path: string; summary: string; tag: string;
  params: Param[]; example: unknown; samples: { lang: string; label?: string; source: string }[];
}
type Spec = { paths: Record<string, Record<string, any>>; components?: { parameters?: Record<string, Param> } };

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

function operations(spec: Spec): Op[] {
  const deref = (p: Param): Param => (p.$ref ? spec.components?.parameters?.[p.$ref.split('/').pop()!] ?? p : p);
  const ops: Op[] = [];
  for (const [path, item] of Object.entries(spec.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const content = op.requestBody?.content?.['application/json'];
      const example = content?.example ?? (content?.examples ? (Object.values(content.examples)[0] as { value?: unknown })?.value : undefined);
      ops.push({
        id: op.operationId, method: method.toUpperCase(), path, summary: op.summary ?? '', tag: op.tags?.[0] ?? 'other',
        params: [...(item.parameters ?? []), ...(op.parameters ?? [])].map(deref).filter((p: Param) => p.in === 'path' || p.in === 'query'),
        example, samples: op['x-codeSamples'] ?? [],
      });
    }
  }
  return ops;
}

/**
 * "Try it" for the API reference: any operation sent from this page with the signed-in session
 * (no key to paste), beside the reference's code samples for the same call.
 */
export function Playground() {
  const spec = useLoad(async () => (await (await fetch('/v1/openapi.json')).json()) as Spec);
  const ops = useMemo(() => (spec.data ? operations(spec.data) : []), [spec.data]);
  const [selected, setSelected] = useState('list_workflows');
  const op = ops.find((o) => o.id === selected) ?? ops[0];
  return (
    <Shell title="API playground">
      <p>Send live requests as the signed-in user. The full reference with every schema is at <a href="/docs">/docs</a>.</p>
      <ErrorText message={spec.error} />
      {op && (
        <>
          <label>Operation
            <select value={op.id} onChange={(e) => setSelected(e.currentTarget.value)}>
              {ops.map((o) => <option key={o.id} value={o.id}>{o.tag}: {o.id} ({o.method} {o.path})</option>)}
            </select>
          </label>
          <Request key={op.id} op={op} />
        </>
      )}
    </Shell>
  );
}

function Request(props: { op: Op }) {
  const { op } = props;
  const [answer, setAnswer] = useState<{ status: number; requestId: string | null; body: string } | null>(null);
  const action = useAction();
  const send = (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    void action.run('send', async () => {
      let path = op.path;
      const query = new URLSearchParams();
      for (const p of op.params) {
        const v = String(f.get(`p_${p.name}`) ?? '');
        if (!v) continue;
        // The browser resolves dot segments: '/workflows/wf_1/tracks/..' would be sent as a
        // DELETE of the workflow itself.
        if (p.in === 'path' && (v === '.' || v === '..')) throw new Error(`${p.name} cannot be '${v}': the request would go to another address.`);
        if (p.in === 'path') path = path.replace(`{${p.name}}`, encodeURIComponent(v));
        else query.set(p.name, v);
      }
      const body = String(f.get('body') ?? '').trim();
      const init: RequestInit = { method: op.method, headers: { accept: 'application/json' } };
      if (body && op.method !== 'GET') {
        JSON.parse(body); // a typo is reported here, not as a 400
        init.body = body;
        init.headers = { ...init.headers, 'content-type': 'application/json' };
      }
      const res = await sessionFetch(`/v1${path}${query.size ? `?${query}` : ''}`, init);
      const text = await res.text();
      let pretty = text;
      try { pretty = JSON.stringify(JSON.parse(text), null, 2); } catch { /* not JSON */ }
      setAnswer({ status: res.status, requestId: res.headers.get('x-request-id'), body: pretty });
    });
  };
  return (
    <div class="playground">
      <form onSubmit={send} class="card stack">
        <p><code class="method">{op.method}</code> <code>/v1{op.path}</code> · {op.summary}</p>
        {op.params.map((p) => (
          <label key={`${p.in}-${p.name}`}>{p.name} ({p.in}{p.required ? ', required' : ''})
            <input name={`p_${p.name}`} required={p.in === 'path'} />
          </label>
        ))}
        {op.method !== 'GET' && op.method !== 'DELETE' && (
          <label>JSON body<textarea name="body" rows={8} class="mono" defaultValue={op.example === undefined ? '' : JSON.stringify(op.example, null, 2)} /></label>
        )}
        <button type="submit" disabled={action.busy !== null}>Send request</button>
        <ErrorText message={action.error} />
      </form>
      {answer && (
        <section class="card" aria-labelledby="answer-h" aria-live="polite">
          <h2 id="answer-h">Answer: {answer.status}</h2>
          {answer.requestId && <p class="meta">Request id {answer.requestId}</p>}
          <pre class="mono" tabIndex={0} data-testid="answer">{answer.body}</pre>
        </section>
      )}
      {op.samples.length > 0 && (
        <section aria-labelledby="samples-h">
          <h2 id="samples-h">Code samples</h2>
          {op.samples.map((s) => (
            <details key={s.lang + (s.label ?? '')}>
              <summary>{s.label ?? s.lang}</summary>
              <pre class="mono" tabIndex={0}>{s.source}</pre>
            </details>
          ))}
        </section>
      )}
    </div>
  );
}
