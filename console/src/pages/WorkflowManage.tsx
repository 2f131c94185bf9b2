import { useState } from 'preact/hooks';
import { LavendlyError, NotFoundError, type Workflow } from '@lavendly/sdk';
import { api, describeError } from '../api.js';
import { ErrorText } from '../components/Alert.js';
import { navigate } from '../router.js';
import { visible } from '../text.js';

/** What a refused rename or delete means for the person, in their words. */
function explain(err: unknown, doing: 'rename' | 'delete'): string {
  if (err instanceof LavendlyError && err.code === 'precondition_failed') {
    const now = typeof err.details['current_version'] === 'number' ? ` (it is now at version ${err.details['current_version']})` : '';
    return `Not renamed: this workflow was changed elsewhere since you opened it${now}. The page now shows the latest version; rename it again if you still want to.`;
  }
  if (err instanceof LavendlyError && err.code === 'workflow_busy') {
    return `Not ${doing === 'rename' ? 'renamed' : 'deleted'}: a generation or render of this workflow is running. Try again once it has finished.`;
  }
  return describeError(err);
}

/**
 * Rename (inline) and delete the workflow. A rename sends the version shown, so it never
 * overwrites a change made elsewhere meanwhile (412 precondition_failed); then `onChanged` fetches
 * the workflow again. A deleted workflow's page has nothing left to show: back to the list.
 */
export function WorkflowManage(props: { workflow: Workflow; onChanged: () => Promise<void> }) {
  const w = props.workflow;
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(w.name);
  const [busy, setBusy] = useState<'rename' | 'delete' | null>(null);
  const [error, setError] = useState<string | null>(null);

  const run = async (doing: 'rename' | 'delete', fn: () => Promise<void>) => {
    setBusy(doing);
    setError(null);
    try {
      await fn();
    } catch (err) {
      setError(explain(err, doing));
      // A stale version or a workflow deleted elsewhere: show what is there now.
      if (err instanceof NotFoundError || (err instanceof LavendlyError && err.code === 'precondition_failed')) await props.onChanged().catch(() => {});
    } finally {
      setBusy(null);
    }
  };
  const rename = (e: Event) => {
    e.preventDefault();
    void run('rename', async () => {
      await api.workflows.update({ id: w.id, name: name.trim(), version: w.version });
      setEditing(false);
      await props.onChanged();
    });
  };
  const remove = () => {
    if (!confirm(`Delete the workflow “${visible(w.name)}”? Its scenes, clips and renders go with it; credits spent are not returned.`)) return;
    void run('delete', async () => {
      await api.workflows.delete({ id: w.id });
      navigate('/workflows');
    });
  };

  return (
    <div class="stack">
      {editing ? (
        <form class="row wrap" onSubmit={rename}>
          <label>New name<input value={name} required maxLength={200} onInput={(e) => setName(e.currentTarget.value)} disabled={busy !== null} /></label>
          <button type="submit" disabled={busy !== null || !name.trim()}>{busy === 'rename' ? 'Saving…' : 'Save name'}</button>
          <button type="button" class="secondary" disabled={busy !== null} onClick={() => { setEditing(false); setError(null); }}>Cancel</button>
        </form>
      ) : (
        <div class="row wrap">
          <button type="button" class="secondary" disabled={busy !== null} onClick={() => { setName(w.name); setEditing(true); setError(null); }}>Rename</button>
          <button type="button" class="secondary" disabled={busy !== null} onClick={remove}>{busy === 'delete' ? 'Deleting…' : 'Delete workflow'}</button>
        </div>
      )}
      <ErrorText message={error} />
    </div>
  );
}
