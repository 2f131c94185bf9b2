import { useState } from 'preact/hooks';
import type { Channel } from '@lavendly/sdk';
import { api } from '../api.js';
import { ErrorText } from '../components/Alert.js';
import { Dialog } from '../components/Dialog.js';
import { useAction, useLoad } from '../hooks.js';
import { Link } from '../router.js';
import { Stored, visible } from '../text.js';

interface Draft { channel: Channel; title: string; caption: string; when: string | null }

/** datetime-local (the browser's zone) -> ISO 8601 with this machine's offset. */
function withOffset(local: string): string {
  const d = new Date(local);
  const off = -d.getTimezoneOffset();
  const pad = (n: number) => String(Math.floor(Math.abs(n))).padStart(2, '0');
  return `${local.length === 16 ? `${local}:00` : local}${off >= 0 ? '+' : '-'}${pad(off / 60)}:${pad(off % 60)}`;
}

/** Publish now or schedule: a form, then a confirmation naming channel, time and title. */
export function PublishDialog(props: { workflowId: string; defaultTitle: string; onClose: () => void; onDone: () => void }) {
  const channels = useLoad(() => api.publish.listChannels());
  const [draft, setDraft] = useState<Draft | null>(null);
  const action = useAction();
  const review = (e: Event) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget as HTMLFormElement);
    const channel = channels.data!.data.find((c) => c.id === f.get('channel'))!;
    const when = String(f.get('when') ?? '');
    setDraft({ channel, title: String(f.get('title')), caption: String(f.get('caption')), when: when ? withOffset(when) : null });
  };
  const confirm = () => action.run('publish', async () => {
    const d = draft!;
    await api.publish.video({
      id: props.workflowId, channel_id: d.channel.id,
      ...(d.title ? { title: d.title } : {}), ...(d.caption ? { caption: d.caption } : {}), ...(d.when ? { when: d.when } : {}),
    });
    props.onDone();
  });
  return (
    <Dialog title={draft ? 'Confirm publication' : 'Publish or schedule'} onClose={props.onClose}>
      <ErrorText message={channels.error} />
      {channels.data && channels.data.data.length === 0 && (
        <p>No channel is connected. <Link href="/settings/channels">Connect one in Settings</Link>.</p>
      )}
      {!draft && channels.data && channels.data.data.length > 0 && (
        <form onSubmit={review} class="stack">
          <label>Channel
            <select name="channel">{channels.data.data.map((c) => <option value={c.id} key={c.id}>{visible(c.name)} ({c.platform})</option>)}</select>
          </label>
          <label>Title<input name="title" defaultValue={props.defaultTitle} maxLength={100} /></label>
          <label>Caption<textarea name="caption" rows={3} maxLength={2200} /></label>
          <label>When (leave empty to post now)<input name="when" type="datetime-local" /></label>
          <div class="row">
            <button type="submit">Review</button>
            <button type="button" class="secondary" onClick={props.onClose}>Cancel</button>
          </div>
        </form>
      )}
      {draft && (
        <div class="stack">
          <p>
            {draft.when ? 'Schedule' : 'Post right now'} “<Stored text={draft.title || 'untitled'} />” to <strong><Stored text={draft.channel.name} /></strong> ({draft.channel.platform})
            {draft.when ? <> at <strong>{new Date(draft.when).toLocaleString()}</strong></> : null}? It will be public, marked as AI-generated.
          </p>
          <ErrorText message={action.error} />
          <div class="row">
            <button type="button" onClick={confirm} disabled={action.busy !== null}>{draft.when ? 'Confirm schedule' : 'Confirm and post'}</button>
            <button type="button" class="secondary" onClick={() => setDraft(null)}>Back</button>
          </div>
        </div>
      )}
    </Dialog>
  );
}
