/**
 * Media in tool results, as content a client can show and a multimodal model can see: every still
 * frame in a result (an object with an image `url`, `width` and `height`) comes along as an image
 * block, and every video or image link (renders, clips, frames) as a `resource_link`. Found by the
 * shape of the response, so no tool needs code of its own.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

type Content = CallToolResult['content'][number];

const IMAGE = /\.(png|jpe?g|webp|gif)$/i;
const VIDEO = /\.(mp4|mov|webm|m4v)$/i;
/** Frames larger than this are linked, not inlined (a downscaled still is far smaller). */
const MAX_IMAGE_BYTES = 2 * 1024 * 1024;
/** How long one frame may take to download before the result goes out without it. */
const FRAME_TIMEOUT_MS = 10_000;
const MAX_IMAGES = 12;
const MAX_LINKS = 24;

interface Found {
  url: string;
  field: string;
  /** A frame: an image with its size, worth inlining. */
  frame: boolean;
  mimeType: string;
  label: string;
}

function mimeOf(pathname: string): string | null {
  const ext = pathname.split('.').pop()?.toLowerCase();
  switch (ext) {
    case 'png': return 'image/png';
    case 'jpg': case 'jpeg': return 'image/jpeg';
    case 'webp': return 'image/webp';
    case 'gif': return 'image/gif';
    case 'mp4': case 'm4v': return 'video/mp4';
    case 'mov': return 'video/quicktime';
    case 'webm': return 'video/webm';
    default: return null;
  }
}

/** Every media link in a response body, in document order, each once. */
export function findMedia(body: unknown): Found[] {
  const out: Found[] = [];
  const seen = new Set<string>();
  const walk = (value: unknown, label: string, depth: number): void => {
    if (depth > 8 || !value || typeof value !== 'object') return;
    if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, `${label}[${i}]`, depth + 1));
      return;
    }
    const obj = value as Record<string, unknown>;
    const name = typeof obj.node_id === 'string' ? `scene ${obj.node_id}` : typeof obj.id === 'string' ? String(obj.id) : label;
    for (const [field, v] of Object.entries(obj)) {
      if ((field === 'url' || field.endsWith('_url')) && typeof v === 'string' && /^https?:\/\//.test(v) && !seen.has(v)) {
        let pathname: string;
        try {
          pathname = new URL(v).pathname;
        } catch {
          continue;
        }
        const mimeType = mimeOf(pathname);
        if (!mimeType || !(IMAGE.test(pathname) || VIDEO.test(pathname))) continue;
        seen.add(v);
        const frame = field === 'url' && mimeType.startsWith('image/') && typeof obj.width === 'number' && typeof obj.height === 'number';
        out.push({ url: v, field, frame, mimeType, label: field === 'url' ? name : `${name} ${field.replace(/_url$/, '')}` });
      } else if (v && typeof v === 'object') {
        walk(v, field, depth + 1);
      }
    }
  };
  walk(body, 'result', 0);
  return out;
}

/** Image blocks for the frames (fetched and inlined) and resource links for every media URL. */
export async function mediaContent(body: unknown, signal?: AbortSignal): Promise<Content[]> {
  const found = findMedia(body);
  const images: Content[] = [];
  for (const f of found.filter((m) => m.frame).slice(0, MAX_IMAGES)) {
    const data = await fetchImage(f.url, signal);
    if (data) images.push({ type: 'image', data: data.base64, mimeType: data.mimeType });
  }
  const links: Content[] = found.slice(0, MAX_LINKS).map((f) => ({
    type: 'resource_link',
    uri: f.url,
    name: f.label,
    mimeType: f.mimeType,
    description: f.mimeType.startsWith('video/') ? `Video (${f.label}); the link expires.` : `Image (${f.label}); the link expires.`,
  }));
  return [...images, ...links];
}

async function fetchImage(url: string, signal?: AbortSignal): Promise<{ base64: string; mimeType: string } | null> {
  // A link that never finishes (or streams without end, with no Content-Length to refuse it by)
  // held the whole tool call, and everything it sent, in memory until the client gave up.
  const timeout = AbortSignal.timeout(FRAME_TIMEOUT_MS);
  try {
    const res = await fetch(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    const mimeType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
    const length = Number(res.headers.get('content-length') ?? '0');
    if (!res.ok || !res.body || !mimeType.startsWith('image/') || length > MAX_IMAGE_BYTES) {
      await res.body?.cancel();
      return null;
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = res.body.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      size += read.value.byteLength;
      if (size > MAX_IMAGE_BYTES) {
        await reader.cancel();
        return null;
      }
      chunks.push(read.value);
    }
    return { base64: Buffer.concat(chunks).toString('base64'), mimeType };
  } catch {
    return null; // the link still goes out; the frame is just not inlined
  }
}
