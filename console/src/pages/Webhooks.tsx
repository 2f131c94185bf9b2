import { useState } from 'preact/hooks';
import type { WebhookEndpoint, WebhookEventFilter } from '@lavendly/sdk';
import { api } from '../api.js';
import { Badge, ErrorText, ShownOnce } from '../components/Alert.js';
import { when } from '../format.js';
import { useAction } from '../hooks.js';
import { usePagedList } from '../paged.js';
import { ShowMore } from '../components/ShowMore.js';
import { Stored, visible } from '../text.js';

const EVENTS: WebhookEventFilter[] = ['*', 'scene.generated', 'generation.finished', 'render.succeeded', 'render.failed',
  'publication.scheduled', 'publication.published', 'publication.failed', 'publication.canceled', 'balance.low'];

export function Webhooks() {
  const endpoints = usePagedList((cursor) => api.webhooks.listEndpoints({ limit: 100, ...(cursor ? { cursor } : {}) }));
  const [secret, setSecret] = useState<string | null>(null);
  const action = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const f = new FormData(form);
    const events = f.getAll('event').map(String) as WebhookEventFilter[];
    void action.run('create', async () => {
      const desc = String(f.get('description') ?? '');
      const created = await api.webhooks.createEndpoint({ url: String(f.get('url')), events: events.length ? events : ['*'], ...(desc ? { description: desc } : {}) });
      setSecret(created.secret);
      form.reset();
      await endpoints.reload();
    });
  };
  return (
    <>
      {secret && <ShownOnce label="Signing secret" value={secret} onDone={() => setSecret(null)} />}
      <section class="card" aria-labelledby="newhook-h">
        <h2 id="newhook-h">Add an endpoint</h2>
        <form onSubmit={submit} class="stack">
          <label>URL<input name="url" type="url" required placeholder="https://example.com/hooks/lavendly" /></label>
          <label>Description<input name="description" maxLength={200} /></label>
          <fieldset>
            <legend>Events (none checked: every event)</legend>
            <div class="checks">{EVENTS.map((ev) => <label key={ev} class="check"><input type="checkbox" name="event" value={ev} /> {ev === '*' ? 'every event' : ev}</label>)}</div>
          </fieldset>
          <button type="submit" disabled={action.busy !== null}>Add endpoint</button>
        </form>
      </section>
      <section aria-labelledby="hooks-h">
        <h2 id="hooks-h">Endpoints</h2>
        <ErrorText message={endpoints.error ?? action.error} />
        {endpoints.rows?.length === 0 && <p>No endpoint yet.</p>}
        <ul class="plain">
          {(endpoints.rows ?? []).map((ep) => (
            <Endpoint key={ep.id} ep={ep} busy={action.busy !== null} onDelete={() => action.run('delete', async () => { await api.webhooks.deleteEndpoint({ id: ep.id }); await endpoints.reload(); })} />
          ))}
        </ul>
        <ShowMore list={endpoints} label="Show more endpoints" />
      </section>
    </>
  );
}

function Endpoint(props: { ep: WebhookEndpoint; busy: boolean; onDelete: () => void }) {
  const { ep } = props;
  const [open, setOpen] = useState(false);
  return (
    <li class="card" data-endpoint={ep.id}>
      <div class="row between wrap">
        <span><Badge status={ep.status} /> <code class="break"><Stored text={ep.url} /></code></span>
        <span class="row">
          <button type="button" class="secondary" aria-expanded={open} onClick={() => setOpen(!open)}>{open ? 'Hide' : 'Show'} deliveries</button>
          <button type="button" class="secondary" disabled={props.busy} onClick={() => confirm(`Delete the endpoint ${visible(ep.url)}?`) && props.onDelete()}>Delete</button>
        </span>
      </div>
      <p class="meta">{ep.events.join(', ')}{ep.description && <> · <Stored text={ep.description} /></>}{ep.disabled_reason && <> · <Stored text={ep.disabled_reason} /></>}</p>
      {open && <Deliveries endpointId={ep.id} />}
    </li>
  );
}

function Deliveries(props: { endpointId: string }) {
  const list = usePagedList((cursor) => api.webhooks.listDeliveries({ id: props.endpointId, limit: 50, ...(cursor ? { cursor } : {}) }), [props.endpointId]);
  const action = useAction();
  if (!list.rows) return list.error ? <ErrorText message={list.error} /> : <p aria-busy="true">Loading deliveries…</p>;
  if (!list.rows.length) return <p>No deliveries yet.</p>;
  return (
    <>
    <div class="table-wrap" tabIndex={0} role="region" aria-label="Table (scrolls sideways)">
      <ErrorText message={action.error} />
      <table>
        <caption class="visually-hidden">Deliveries</caption>
        <thead><tr><th scope="col">Event</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Answer</th><th scope="col">Created</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
        <tbody>
          {list.rows.map((d) => (
            <tr key={d.id} data-delivery={d.id}>
              <td>{d.event_type}{d.replay_of ? ' (replay)' : ''}</td>
              <td><Badge status={d.status} /></td>
              <td>{d.attempt}</td>
              <td>{d.response_status ?? <Stored text={d.last_error ?? '-'} />}</td>
              <td>{when(d.created_at)}</td>
              <td><button type="button" class="secondary" disabled={action.busy !== null}
                onClick={() => action.run('replay', async () => { await api.webhooks.replayDelivery({ id: d.id }); await list.reload(); })}>Replay</button></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
    <ErrorText message={list.error} />
    <ShowMore list={list} label="Show more deliveries" />
    </>
  );
}
