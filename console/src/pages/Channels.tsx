import type { Platform } from '@lavendly/sdk';
import { api } from '../api.js';
import { ErrorText, Notice } from '../components/Alert.js';
import { when } from '../format.js';
import { useAction, useLoad } from '../hooks.js';
import { usePath } from '../router.js';
import { Stored, visible } from '../text.js';

/** What the OAuth callback's `error=` codes mean to the person who just came back. */
const CALLBACK_ERRORS: Record<string, string> = {
  access_denied: 'access was not granted on the platform\'s page',
  invalid_state: 'the answer did not belong to a connection started here; try again',
  state_expired: 'the connection took too long; try again',
  session_mismatch: 'it was started in another session; try again',
  token_exchange_failed: 'the platform did not hand over the tokens; try again later',
  not_configured: 'this server has no OAuth client for that platform',
};

/**
 * Connected channels. YouTube and TikTok connect through the platform's consent page (OAuth 2.0
 * with PKCE, started by the API, which answers the URL to send the browser to); agents cannot.
 */
export function Channels() {
  const { query } = usePath();
  const list = useLoad(() => api.publish.listChannels());
  const action = useAction();
  const connect = (platform: Exclude<Platform, 'local'>) => action.run(platform, async () => {
    const started = await api.publish.startChannelConnection({ platform });
    location.assign(started.authorize_url);
  });
  const connected = query.get('connected');
  const failed = query.get('error');
  // Only a channel of this account and a code the callback sends are shown: anyone can link here
  // with any query, and the page must not say what they wrote.
  const connectedName = list.data?.data.find((c) => c.id === connected)?.name;
  return (
    <>
      {connectedName && <Notice>Connected <Stored text={connectedName} />.</Notice>}
      {failed && <p class="error" role="alert">The channel was not connected: {Object.hasOwn(CALLBACK_ERRORS, failed) ? CALLBACK_ERRORS[failed] : 'something went wrong; try again'}.</p>}
      <section aria-labelledby="ch-h">
        <h2 id="ch-h">Connected channels</h2>
        <ErrorText message={list.error ?? action.error} />
        {list.data?.data.length === 0 && <p>No channel yet. Agents can publish only to channels you connect here.</p>}
        <ul class="plain">
          {(list.data?.data ?? []).map((c) => (
            <li key={c.id} class="card row between wrap" data-channel={c.platform}>
              <span><strong><Stored text={c.name} /></strong> · {c.platform} · since {when(c.created_at)}</span>
              <button type="button" class="secondary" disabled={action.busy !== null}
                onClick={() => confirm(`Disconnect ${visible(c.name)}? Scheduled posts to it must be canceled first.`)
                  && action.run('disconnect', async () => { await api.publish.disconnectChannel({ id: c.id }); await list.reload(); })}>
                Disconnect <Stored text={c.name} />
              </button>
            </li>
          ))}
        </ul>
      </section>
      <section aria-labelledby="connect-h" class="card">
        <h2 id="connect-h">Connect a channel</h2>
        <p class="hint">You will confirm on the platform's own page and come back here.</p>
        <div class="row wrap">
          <button type="button" disabled={action.busy !== null} onClick={() => connect('youtube')}>Connect YouTube</button>
          <button type="button" disabled={action.busy !== null} onClick={() => connect('tiktok')}>Connect TikTok</button>
        </div>
        <p class="hint">A local folder channel (for trying the flow) is connected by an operator: <code>lavendly channels connect</code>.</p>
      </section>
    </>
  );
}
