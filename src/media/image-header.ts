/**
 * The size and frame count an image declares in its own header, read without decoding a pixel.
 *
 * ffprobe decodes the first frame to describe a stream, so a 2 MB PNG declaring 16000x16000 at
 * 16 bits per channel costs it 2 GB and seconds before anyone can say no. Reading the header
 * first lets the caller refuse such a file for the price of a few small reads. It also sees what
 * ffprobe does not: an APNG's frame count (acTL) and an animated WebP (the VP8X flag; ffprobe
 * cannot read those at all).
 */
import fs from 'node:fs/promises';

export interface ImageHeader {
  format: 'png' | 'jpeg' | 'gif' | 'webp';
  width: number;
  height: number;
  /** Bits per channel where the format says (PNG, JPEG); null otherwise (8). */
  bitDepth: number | null;
  /** More than one frame: an APNG, a GIF with a second image, a WebP with the animation flag. */
  animated: boolean;
  /** JPEG only: the EXIF orientation (1..8), when the file has one. */
  orientation: number | null;
}

/**
 * The filters that turn a picture stored with EXIF `orientation` upright (this ffmpeg, from 2018,
 * ignores the tag: a portrait phone photo came out lying on its side). Empty when it is upright.
 */
export function uprightFilters(orientation: number | null): string[] {
  switch (orientation) {
    case 2: return ['hflip'];
    case 3: return ['hflip', 'vflip'];
    case 4: return ['vflip'];
    case 5: return ['transpose=cclock_flip']; // mirrored along the main diagonal
    case 6: return ['transpose=clock'];
    case 7: return ['transpose=clock_flip']; // mirrored along the other diagonal
    case 8: return ['transpose=cclock'];
    default: return [];
  }
}

/** Whether a picture with EXIF `orientation` shows with its width and height swapped. */
export const orientationSwaps = (orientation: number | null) => orientation !== null && orientation >= 5;

/** Positional reads through one file handle, a window at a time (headers are walked in small steps). */
class Reader {
  private window = Buffer.alloc(0);
  private start = 0;
  constructor(private readonly handle: fs.FileHandle) {}

  /** `n` bytes at `pos`, fewer at the end of the file. */
  async bytes(pos: number, n: number): Promise<Buffer> {
    if (pos < this.start || pos + n > this.start + this.window.length) {
      const buf = Buffer.alloc(Math.max(n, 64 * 1024));
      const { bytesRead } = await this.handle.read(buf, 0, buf.length, pos);
      this.window = buf.subarray(0, bytesRead);
      this.start = pos;
    }
    return this.window.subarray(pos - this.start, pos - this.start + n);
  }
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

async function png(r: Reader): Promise<ImageHeader | null> {
  const ihdr = await r.bytes(8, 25);
  if (ihdr.length < 25 || ihdr.toString('latin1', 4, 8) !== 'IHDR') return null;
  const header: ImageHeader = {
    format: 'png', width: ihdr.readUInt32BE(8), height: ihdr.readUInt32BE(12), bitDepth: ihdr[16]!, animated: false, orientation: null,
  };
  // acTL, when there is one, comes before the first IDAT; a bounded number of chunks is looked at.
  let pos = 8 + 25;
  for (let i = 0; i < 64; i++) {
    const chunk = await r.bytes(pos, 12);
    if (chunk.length < 12) break;
    const type = chunk.toString('latin1', 4, 8);
    if (type === 'IDAT' || type === 'IEND') break;
    if (type === 'acTL') header.animated = chunk.readUInt32BE(8) > 1;
    pos += 12 + chunk.readUInt32BE(0);
  }
  return header;
}

/** Start-of-frame markers carry the size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not. */
const isSof = (m: number) => m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;

/** The orientation tag (0x0112) of an APP1 Exif segment's first IFD, or null. */
function exifOrientation(seg: Buffer): number | null {
  if (seg.length < 14 || seg.toString('latin1', 0, 6) !== 'Exif\0\0') return null;
  const tiff = seg.subarray(6);
  const le = tiff.toString('latin1', 0, 2) === 'II';
  const u16 = (o: number) => (le ? tiff.readUInt16LE(o) : tiff.readUInt16BE(o));
  const u32 = (o: number) => (le ? tiff.readUInt32LE(o) : tiff.readUInt32BE(o));
  const ifd = u32(4);
  if (ifd + 2 > tiff.length) return null;
  const count = u16(ifd);
  for (let i = 0; i < count && ifd + 2 + i * 12 + 12 <= tiff.length; i++) {
    const entry = ifd + 2 + i * 12;
    if (u16(entry) === 0x0112) {
      const v = u16(entry + 8);
      return v >= 1 && v <= 8 ? v : null;
    }
  }
  return null;
}

async function jpeg(r: Reader): Promise<ImageHeader | null> {
  let pos = 2;
  let orientation: number | null = null;
  // Segments before the frame header (Exif, ICC, thumbnails) are skipped by their lengths.
  for (let i = 0; i < 256; i++) {
    const marker = await r.bytes(pos, 4);
    if (marker.length < 4 || marker[0] !== 0xff) return null;
    const m = marker[1]!;
    if (m === 0xff) { pos += 1; continue; } // fill byte
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) { pos += 2; continue; } // no length
    if (m === 0xd9 || m === 0xda) return null; // end of image, or scan data, before any frame header
    const length = marker.readUInt16BE(2);
    if (isSof(m)) {
      const sof = await r.bytes(pos + 4, 5);
      if (sof.length < 5) return null;
      return { format: 'jpeg', width: sof.readUInt16BE(3), height: sof.readUInt16BE(1), bitDepth: sof[0]!, animated: false, orientation };
    }
    if (m === 0xe1 && orientation === null) orientation = exifOrientation(await r.bytes(pos + 4, Math.min(length - 2, 4096)));
    pos += 2 + length;
  }
  return null;
}

/** Walks a GIF's blocks far enough to know whether a second image follows the first. */
async function gif(r: Reader): Promise<ImageHeader | null> {
  const lsd = await r.bytes(6, 7);
  if (lsd.length < 7) return null;
  const header: ImageHeader = { format: 'gif', width: lsd.readUInt16LE(0), height: lsd.readUInt16LE(2), bitDepth: null, animated: false, orientation: null };
  const colorTable = (flags: number) => (flags & 0x80 ? 3 * 2 ** ((flags & 0x07) + 1) : 0);
  let pos = 13 + colorTable(lsd[4]!);
  const skipSubBlocks = async () => {
    for (;;) {
      const size = (await r.bytes(pos, 1))[0];
      if (size === undefined) return false;
      pos += 1 + size;
      if (size === 0) return true;
    }
  };
  let images = 0;
  for (;;) {
    const intro = (await r.bytes(pos, 1))[0];
    if (intro === 0x21) { // extension: label, then sub-blocks
      pos += 2;
      if (!(await skipSubBlocks())) break;
    } else if (intro === 0x2c) { // image: descriptor, local colour table, LZW code size, data
      if (++images > 1) { header.animated = true; break; }
      const desc = await r.bytes(pos, 10);
      if (desc.length < 10) break;
      pos += 10 + colorTable(desc[9]!) + 1;
      if (!(await skipSubBlocks())) break;
    } else {
      break; // trailer, or the end of a truncated file
    }
  }
  return header;
}

async function webp(r: Reader): Promise<ImageHeader | null> {
  const chunk = await r.bytes(12, 30);
  if (chunk.length < 18) return null;
  const type = chunk.toString('latin1', 0, 4);
  const base = { format: 'webp' as const, bitDepth: null, orientation: null };
  if (type === 'VP8X') {
    const u24 = (o: number) => chunk[o]! | (chunk[o + 1]! << 8) | (chunk[o + 2]! << 16);
    return { ...base, width: u24(12) + 1, height: u24(15) + 1, animated: Boolean(chunk[8]! & 0x02) };
  }
  if (type === 'VP8L' && chunk[8] === 0x2f && chunk.length >= 13) {
    const bits = chunk.readUInt32LE(9);
    return { ...base, width: (bits & 0x3fff) + 1, height: ((bits >> 14) & 0x3fff) + 1, animated: false };
  }
  if (type === 'VP8 ' && chunk.length >= 20 && chunk[11] === 0x9d && chunk[12] === 0x01 && chunk[13] === 0x2a) {
    return { ...base, width: chunk.readUInt16LE(14) & 0x3fff, height: chunk.readUInt16LE(16) & 0x3fff, animated: false };
  }
  return null;
}

/** The header of a PNG, JPEG, GIF or WebP file; null when it is none of these or its header is unreadable. */
export async function readImageHeader(path: string): Promise<ImageHeader | null> {
  const handle = await fs.open(path, 'r');
  try {
    const r = new Reader(handle);
    const head = await r.bytes(0, 16);
    if (head.length >= 8 && head.subarray(0, 8).equals(PNG_SIGNATURE)) return await png(r);
    if (head[0] === 0xff && head[1] === 0xd8) return await jpeg(r);
    if (/^GIF8[79]a$/.test(head.toString('latin1', 0, 6))) return await gif(r);
    if (head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP') return await webp(r);
    return null;
  } finally {
    await handle.close();
  }
}
