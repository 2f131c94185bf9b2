import { api } from '../api.js';
import { ErrorText, Notice } from '../components/Alert.js';
import { when } from '../format.js';
import { useAction, useLoad } from '../hooks.js';
import { usePath } from '../router.js';
import { session } from '../session.js';
import { channelConnectUrl, disconnectChannel } from '../settings-api.js';

/** Connected channels; YouTube and TikTok connect through their OAuth consent page, the local folder channel directly. */
export function Channels() {
  const { query } = usePath();
  const list = useLoad(() => api.publish.listChannels());
  const action = useAction();
  const connectLocal = (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    void action.run('local', async () => {
      await api.publish.connectChannel({ account_id: session.get()!.account_id, platform: 'local', name: String(f.get('name')), credentials: {} });
      (e.target as HTMLFormElement).reset();
      await list.reload();
    });
  };
  const connected = query.get('connected');
  const failed = query.get('error');
  return (
    <>
      {connected && <Notice>Connected {connected}.</Notice>}
      {failed && <p class="error" role="alert">The channel was not connected: {query.get('error_description') ?? failed}</p>}
      <section aria-labelledby="ch-h">
        <h2 id="ch-h">Connected channels</h2>
        <ErrorText message={list.error ?? action.error} />
        {list.data?.data.length === 0 && <p>No channel yet. Agents can publish only to channels you connect here.</p>}
        <ul class="plain">
          {(list.data?.data ?? []).map((c) => (
            <li key={c.id} class="card row between" data-channel={c.platform}>
              <span><strong>{c.name}</strong> · {c.platform} · since {when(c.created_at)}</span>
              <button type="button" class="secondary" disabled={action.busy !== null}
                onClick={() => action.run('disconnect', async () => { await disconnectChannel(c.id); await list.reload(); })}>Disconnect {c.name}</button>
            </li>
          ))}
        </ul>
      </section>
      <section aria-labelledby="connect-h" class="card">
        <h2 id="connect-h">Connect a channel</h2>
        <div class="row wrap">
          <a class="button" href={channelConnectUrl('youtube')}>Connect YouTube</a>
          <a class="button" href={channelConnectUrl('tiktok')}>Connect TikTok</a>
        </div>
        <form onSubmit={connectLocal} class="stack">
          <h3>Local folder channel</h3>
          <p class="hint">Publishes by writing the video into a folder on the server (for trying the flow).</p>
          <label>Name<input name="name" required defaultValue="Local folder" /></label>
          <button type="submit" class="secondary" disabled={action.busy !== null}>Connect the local channel</button>
        </form>
      </section>
    </>
  );
}
