/**
 * A local file to an asset: open a signed slot (create_upload, which refuses an oversized file up
 * front with the API's own limits), then PUT the bytes with XMLHttpRequest, the one browser API
 * that reports upload progress. The slot's token is the credential; the session's CSRF header
 * goes along for servers that check it on every unsafe request.
 */
import type { Asset, AssetKind } from '@lavendly/sdk';
import { api, csrfHeaders } from './api.js';

export function kindOf(file: File): AssetKind | null {
  if (file.type.startsWith('image/')) return 'image';
  if (file.type.startsWith('video/')) return 'video';
  if (file.type.startsWith('audio/')) return 'music';
  return null;
}

/** The slot's URL on this origin when it points at this server's upload route (the page may be served under another name). */
function sameOrigin(url: string): string {
  const u = new URL(url, location.href);
  return u.pathname.startsWith('/v1/uploads/') ? `${u.pathname}${u.search}` : u.href;
}

export async function uploadFile(file: File, kind: AssetKind, onProgress: (fraction: number) => void, signal?: AbortSignal): Promise<Asset> {
  const slot = await api.assets.createUpload({ kind, filename: file.name, bytes: file.size });
  if (file.size > slot.max_bytes) throw new Error(`${file.name} is ${file.size} bytes; this slot takes at most ${slot.max_bytes}.`);
  return new Promise<Asset>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', sameOrigin(slot.upload_url));
    xhr.setRequestHeader('Content-Type', 'application/octet-stream');
    for (const [k, v] of Object.entries(csrfHeaders('PUT'))) xhr.setRequestHeader(k, v);
    xhr.responseType = 'json';
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1);
        resolve(xhr.response as Asset);
      } else {
        const msg = (xhr.response as { error?: { message?: string } } | null)?.error?.message;
        reject(new Error(msg ?? `The upload answered ${xhr.status}.`));
      }
    };
    xhr.onerror = () => reject(new Error('The upload was interrupted (network error).'));
    xhr.onabort = () => reject(new Error('The upload was canceled.'));
    signal?.addEventListener('abort', () => xhr.abort());
    xhr.send(file);
  });
}
