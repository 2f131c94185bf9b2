import { useState } from 'preact/hooks';
import { ErrorText, ShownOnce } from '../components/Alert.js';
import { when } from '../format.js';
import { useAction, useLoad } from '../hooks.js';
import type { ApiKey, ApiKeyScope, ApiKeyWithSecret } from '@lavendly/sdk';
import { api } from '../api.js';
import { Stored, visible } from '../text.js';

// `admin` keys are made only by other admin keys (an operator's), never from a session.
const SCOPES: { id: ApiKeyScope; label: string }[] = [
  { id: 'ledger:write', label: 'ledger:write (reserve and commit credits for your own paid work)' },
];

async function allKeys(): Promise<ApiKey[]> {
  const out: ApiKey[] = [];
  for await (const k of api.keys.list({ limit: 100 })) out.push(k);
  return out;
}

/** Keys are how programs and agents authenticate: created here with scopes, shown once, revoked here. */
export function ApiKeys() {
  const keys = useLoad(allKeys);
  const [created, setCreated] = useState<ApiKeyWithSecret | null>(null);
  const action = useAction();
  const submit = (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const f = new FormData(form);
    void action.run('create', async () => {
      setCreated(await api.keys.create({ name: String(f.get('name')), scopes: f.getAll('scope').map(String) as ApiKeyScope[] }));
      form.reset();
      await keys.reload();
    });
  };
  return (
    <>
      {created && <ShownOnce label={`New API key ${visible(created.name ?? '')}`.trim()} value={created.key} onDone={() => setCreated(null)} />}
      <section class="card" aria-labelledby="newkey-h">
        <h2 id="newkey-h">Create an API key</h2>
        <form onSubmit={submit} class="stack">
          <label>Name<input name="name" required maxLength={100} placeholder="e.g. My agent" /></label>
          <fieldset>
            <legend>Scopes (none: everything except the scoped operations)</legend>
            {SCOPES.map((s) => <label key={s.id} class="check"><input type="checkbox" name="scope" value={s.id} /> {s.label}</label>)}
          </fieldset>
          <button type="submit" disabled={action.busy !== null}>Create key</button>
        </form>
      </section>
      <section aria-labelledby="keys-h">
        <h2 id="keys-h">Keys</h2>
        <ErrorText message={keys.error ?? action.error} />
        {keys.data && (
          <div class="table-wrap" tabIndex={0} role="region" aria-label="Table (scrolls sideways)">
            <table>
              <thead><tr><th scope="col">Name</th><th scope="col">Key</th><th scope="col">Scopes</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col"><span class="visually-hidden">Actions</span></th></tr></thead>
              <tbody>
                {keys.data.map((k) => (
                  <tr key={k.id} data-key={k.id}>
                    <td><Stored text={k.name ?? '-'} /></td>
                    <td><code>{k.prefix}…</code></td>
                    <td>{k.scopes.join(', ') || '-'}</td>
                    <td>{when(k.created_at)}</td>
                    <td>{when(k.last_used_at)}</td>
                    <td>{k.revoked_at ? `revoked ${when(k.revoked_at)}` : (
                      <button type="button" class="secondary" disabled={action.busy !== null}
                        onClick={() => confirm(`Revoke ${visible(k.name ?? k.id)}? Programs using it stop working at once.`) && action.run('revoke', async () => { await api.keys.revoke({ id: k.id }); await keys.reload(); })}>Revoke <Stored text={k.name ?? k.id} /></button>
                    )}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
