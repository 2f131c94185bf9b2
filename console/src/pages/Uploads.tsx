import { useState } from 'preact/hooks';
import type { Asset } from '@lavendly/sdk';
import { describeError } from '../api.js';
import { Shell } from '../components/Shell.js';
import { bytes, seconds } from '../format.js';
import { recentUploadsKey, session } from '../session.js';
import { useSignal } from '../signal.js';
import { kindOf, uploadFile } from '../upload.js';
import { Stored, visible } from '../text.js';

interface Item { key: string; name: string; size: number; progress: number; asset?: Asset; error?: string }

export function Uploads() {
  // Kept per person: a browser shared by two people (or accounts) must not show one the other's files.
  const me = useSignal(session);
  const RECENT = recentUploadsKey(me!);
  const recent = (): Asset[] => { try { return JSON.parse(localStorage.getItem(RECENT) ?? '[]') as Asset[]; } catch { return []; } };
  const [items, setItems] = useState<Item[]>([]);
  const [over, setOver] = useState(false);
  const [done, setDone] = useState<Asset[]>(recent);
  const update = (key: string, patch: Partial<Item>) => setItems((all) => all.map((i) => (i.key === key ? { ...i, ...patch } : i)));

  const start = (files: FileList | null) => {
    for (const file of Array.from(files ?? [])) {
      const key = `${file.name}-${file.size}-${Math.random()}`;
      const kind = kindOf(file);
      setItems((all) => [...all, { key, name: file.name, size: file.size, progress: 0, ...(kind ? {} : { error: 'Only image, video and audio files can be uploaded.' }) }]);
      if (!kind) continue;
      uploadFile(file, kind, (p) => update(key, { progress: p }))
        .then((asset) => {
          update(key, { asset, progress: 1 });
          const list = [asset, ...recent().filter((a) => a.id !== asset.id)].slice(0, 20);
          localStorage.setItem(RECENT, JSON.stringify(list));
          setDone(list);
        })
        .catch((err) => update(key, { error: describeError(err) }));
    }
  };

  return (
    <Shell title="Uploads">
      <p>Still images (up to 25 MB and 40 megapixels), videos (300 MB, 3 minutes) and music (50 MB, 10 minutes), within your storage quota. Use an image's asset id as a shot's opening frame.</p>
      <div class={`dropzone${over ? ' over' : ''}`} data-testid="dropzone"
        onDragOver={(e) => { e.preventDefault(); setOver(true); }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => { e.preventDefault(); setOver(false); start(e.dataTransfer?.files ?? null); }}>
        <p>Drop files here, or</p>
        <label class="button">Choose files<input type="file" multiple accept="image/*,video/*,audio/*" class="visually-hidden"
          onChange={(e) => { start(e.currentTarget.files); e.currentTarget.value = ''; }} /></label>
      </div>
      <ul class="uploads" aria-live="polite">
        {items.map((i) => (
          <li key={i.key} class="card" data-upload={i.name}>
            <p><strong><Stored text={i.name} /></strong> · {bytes(i.size)}</p>
            {!i.error && <><progress max={100} value={Math.round(i.progress * 100)} aria-label={`Upload of ${visible(i.name)}`} /> <span data-testid="percent">{Math.round(i.progress * 100)}%</span></>}
            {i.asset && <p role="status">Stored as <code>{i.asset.id}</code></p>}
            {i.error && <p class="error" role="alert">{i.error}</p>}
          </li>
        ))}
      </ul>
      {done.length > 0 && (
        <section aria-labelledby="recent-h">
          <h2 id="recent-h">Recent uploads on this browser</h2>
          <ul class="assets">
            {done.map((a) => (
              <li key={a.id} class="card">
                {a.kind === 'image' && new Date(a.url_expires_at) > new Date() && <img src={a.url} alt={visible(a.filename ?? a.id)} loading="lazy" />}
                <p><code>{a.id}</code> · {a.kind} · {bytes(a.bytes)}{a.duration_s ? ` · ${seconds(a.duration_s)}` : ''}</p>
                <p class="meta"><Stored text={a.filename} /></p>
              </li>
            ))}
          </ul>
        </section>
      )}
    </Shell>
  );
}
