/**
 * Content type from the bytes themselves (magic numbers). A server's or client's declared
 * Content-Type is never trusted: what a file is decides how it is stored and served.
 */
import fs from 'node:fs/promises';

export type MediaFamily = 'image' | 'video' | 'audio';

export interface SniffedType {
  mime: string;
  /** File extension to store it under (no dot). */
  ext: string;
  /**
   * What the container can hold. Containers such as MP4 or WebM may carry video or audio only;
   * a probe of the streams settles which (see assets).
   */
  families: MediaFamily[];
}

/** How many leading bytes `sniff` wants to see. */
const SNIFF_BYTES = 4100;

const ascii = (buf: Buffer, start: number, end: number) => buf.subarray(start, end).toString('latin1');
const startsWith = (buf: Buffer, bytes: number[], offset = 0) => bytes.every((b, i) => buf[offset + i] === b);

function sniffFtyp(buf: Buffer): SniffedType | null {
  const major = ascii(buf, 8, 12);
  const boxSize = buf.readUInt32BE(0);
  const compatible: string[] = [];
  for (let i = 16; i + 4 <= Math.min(boxSize, buf.length, 256); i += 4) compatible.push(ascii(buf, i, i + 4));
  const brands = [major, ...compatible];
  if (['M4A ', 'M4B ', 'M4P ', 'F4A ', 'F4B '].includes(major)) return { mime: 'audio/mp4', ext: 'm4a', families: ['audio'] };
  if (['heic', 'heix', 'hevc', 'mif1', 'msf1', 'avif', 'avis'].includes(major)) return null; // still-image HEIF/AVIF: not accepted
  if (major === 'qt  ') return { mime: 'video/quicktime', ext: 'mov', families: ['video', 'audio'] };
  if (major.startsWith('3gp') || major.startsWith('3g2')) return { mime: 'video/3gpp', ext: '3gp', families: ['video', 'audio'] };
  if (brands.some((b) => /^(isom|iso[2-9]|mp41|mp42|mp71|avc1|dash|mmp4|MSNV|M4V |M4VH|M4VP|f4v |NDAS|cmfc|cmf2)$/.test(b))) {
    return { mime: 'video/mp4', ext: 'mp4', families: ['video', 'audio'] };
  }
  return null;
}

function sniffMpegAudio(buf: Buffer, offset: number): SniffedType | null {
  if (buf.length < offset + 4 || buf[offset] !== 0xff) return null;
  const b1 = buf[offset + 1]!;
  if ((b1 & 0xf0) === 0xf0 && ((b1 >> 1) & 0x3) === 0) {
    return { mime: 'audio/aac', ext: 'aac', families: ['audio'] }; // ADTS: sync 0xFFF, layer 00
  }
  if ((b1 & 0xe0) === 0xe0 && ((b1 >> 3) & 0x3) !== 1 && ((b1 >> 1) & 0x3) !== 0) {
    const b2 = buf[offset + 2]!;
    if (b2 >> 4 !== 0xf && ((b2 >> 2) & 0x3) !== 0x3) return { mime: 'audio/mpeg', ext: 'mp3', families: ['audio'] };
  }
  return null;
}

/** The type of a file from its first bytes, or null when it is none of the accepted types. */
export function sniff(buf: Buffer): SniffedType | null {
  if (buf.length < 4) return null;
  if (startsWith(buf, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { mime: 'image/png', ext: 'png', families: ['image'] };
  if (startsWith(buf, [0xff, 0xd8, 0xff])) return { mime: 'image/jpeg', ext: 'jpg', families: ['image'] };
  if (ascii(buf, 0, 6) === 'GIF87a' || ascii(buf, 0, 6) === 'GIF89a') return { mime: 'image/gif', ext: 'gif', families: ['image'] };
  if (ascii(buf, 0, 4) === 'RIFF' && buf.length >= 12) {
    const form = ascii(buf, 8, 12);
    if (form === 'WEBP') return { mime: 'image/webp', ext: 'webp', families: ['image'] };
    if (form === 'WAVE') return { mime: 'audio/wav', ext: 'wav', families: ['audio'] };
    return null;
  }
  if (buf.length >= 12 && ascii(buf, 4, 8) === 'ftyp') return sniffFtyp(buf);
  if (startsWith(buf, [0x1a, 0x45, 0xdf, 0xa3])) {
    const header = ascii(buf, 0, Math.min(buf.length, 64));
    return header.includes('webm')
      ? { mime: 'video/webm', ext: 'webm', families: ['video', 'audio'] }
      : { mime: 'video/x-matroska', ext: 'mkv', families: ['video', 'audio'] };
  }
  if (ascii(buf, 0, 4) === 'OggS') {
    const page = ascii(buf, 0, Math.min(buf.length, 128));
    if (page.includes('\x80theora')) return { mime: 'video/ogg', ext: 'ogv', families: ['video', 'audio'] };
    return { mime: 'audio/ogg', ext: 'ogg', families: ['audio'] };
  }
  if (ascii(buf, 0, 4) === 'fLaC') return { mime: 'audio/flac', ext: 'flac', families: ['audio'] };
  if (ascii(buf, 0, 3) === 'ID3' && buf.length >= 10) {
    // ID3v2 tag: a syncsafe size; look at what follows when it is within reach.
    const size = ((buf[6]! & 0x7f) << 21) | ((buf[7]! & 0x7f) << 14) | ((buf[8]! & 0x7f) << 7) | (buf[9]! & 0x7f);
    const after = 10 + size + (buf[5]! & 0x10 ? 10 : 0);
    if (after + 4 <= buf.length) {
      if (ascii(buf, after, after + 4) === 'fLaC') return { mime: 'audio/flac', ext: 'flac', families: ['audio'] };
      const inner = sniffMpegAudio(buf, after);
      if (inner) return inner;
    }
    return { mime: 'audio/mpeg', ext: 'mp3', families: ['audio'] };
  }
  return sniffMpegAudio(buf, 0);
}

/** Sniff the first bytes of a file on disk. */
export async function sniffFile(path: string): Promise<SniffedType | null> {
  const handle = await fs.open(path, 'r');
  try {
    const buf = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(buf, 0, SNIFF_BYTES, 0);
    return sniff(buf.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}

/** Content type for a stored file by its extension (the extension was chosen by sniffing). */
export function mimeForExt(ext: string): string {
  const map: Record<string, string> = {
    png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp',
    mp4: 'video/mp4', mov: 'video/quicktime', '3gp': 'video/3gpp', webm: 'video/webm', mkv: 'video/x-matroska',
    ogv: 'video/ogg', m4a: 'audio/mp4', mp3: 'audio/mpeg', aac: 'audio/aac', wav: 'audio/wav',
    ogg: 'audio/ogg', flac: 'audio/flac', json: 'application/json', txt: 'text/plain; charset=utf-8',
  };
  return map[ext.toLowerCase()] ?? 'application/octet-stream';
}
