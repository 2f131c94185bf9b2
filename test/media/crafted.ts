/**
 * Hostile files made byte by byte: headers that declare what their data does not hold (a huge
 * picture, an absurd sample rate). Small to write, so tests need no multi-megabyte fixtures.
 */
import zlib from 'node:zlib';

function pngChunk(type: string, data: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(zlib.crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A PNG declaring `width`x`height` (colour type 6, RGBA) whose data is a few rows of zeros. */
export function pngHeaderOnly(width: number, height: number, bitDepth = 8): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([bitDepth, 6, 0, 0, 0], 8);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', zlib.deflateSync(Buffer.alloc(4096))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** An APP1 Exif segment holding only an orientation tag. */
function exifSegment(orientation: number): Buffer {
  // Exif: "Exif\0\0", big-endian TIFF header, one IFD with one entry (0x0112 SHORT 1 = orientation).
  const tiff = Buffer.alloc(8 + 2 + 12 + 4);
  tiff.write('MM', 0, 'latin1');
  tiff.writeUInt16BE(42, 2);
  tiff.writeUInt32BE(8, 4);
  tiff.writeUInt16BE(1, 8);
  tiff.writeUInt16BE(0x0112, 10);
  tiff.writeUInt16BE(3, 12);
  tiff.writeUInt32BE(1, 14);
  tiff.writeUInt16BE(orientation, 18);
  const exif = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  return Buffer.concat([Buffer.from([0xff, 0xe1]), u16be(exif.length + 2), exif]);
}

/** A real JPEG (from ffmpeg) given an EXIF orientation, as a phone writes a photo taken sideways. */
export function withOrientation(jpeg: Buffer, orientation: number): Buffer {
  return Buffer.concat([jpeg.subarray(0, 2), exifSegment(orientation), jpeg.subarray(2)]);
}

/** A JPEG declaring `width`x`height` in a baseline frame header behind an Exif segment with `orientation`. */
export function jpegHeaderOnly(width: number, height: number, orientation = 1): Buffer {
  const app1 = exifSegment(orientation);
  const sof = Buffer.concat([Buffer.from([0xff, 0xc0]), u16be(17), Buffer.from([8]), u16be(height), u16be(width), Buffer.from([3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1])]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), app1, sof, Buffer.from([0xff, 0xd9])]);
}

/** A GIF whose logical screen is `width`x`height`, with one tiny image. */
export function gifHeaderOnly(width: number, height: number): Buffer {
  const lsd = Buffer.concat([u16le(width), u16le(height), Buffer.from([0, 0, 0])]);
  const image = Buffer.concat([Buffer.from([0x2c]), u16le(0), u16le(0), u16le(1), u16le(1), Buffer.from([0, 2, 2, 0x4c, 0x01, 0])]);
  return Buffer.concat([Buffer.from('GIF89a', 'latin1'), lsd, image, Buffer.from([0x3b])]);
}

/** An extended WebP (VP8X) declaring a `width`x`height` canvas, not animated. */
export function webpHeaderOnly(width: number, height: number): Buffer {
  const vp8x = Buffer.alloc(10);
  vp8x.writeUIntLE(width - 1, 4, 3);
  vp8x.writeUIntLE(height - 1, 7, 3);
  const chunk = Buffer.concat([Buffer.from('VP8X', 'latin1'), u32le(10), vp8x]);
  return Buffer.concat([Buffer.from('RIFF', 'latin1'), u32le(4 + chunk.length), Buffer.from('WEBP', 'latin1'), chunk]);
}

/** A 16-bit mono PCM WAV declaring `sampleRate`, holding `samples` samples of silence. */
export function wav(sampleRate: number, samples: number): Buffer {
  const fmt = Buffer.alloc(16);
  fmt.writeUInt16LE(1, 0); // PCM
  fmt.writeUInt16LE(1, 2); // mono
  fmt.writeUInt32LE(sampleRate, 4);
  fmt.writeUInt32LE(Math.min(0xffffffff, sampleRate * 2), 8);
  fmt.writeUInt16LE(2, 12);
  fmt.writeUInt16LE(16, 14);
  const data = Buffer.alloc(samples * 2);
  return Buffer.concat([
    Buffer.from('RIFF', 'latin1'), u32le(36 + data.length), Buffer.from('WAVEfmt ', 'latin1'), u32le(16), fmt,
    Buffer.from('data', 'latin1'), u32le(data.length), data,
  ]);
}

function u16be(n: number): Buffer { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; }
function u16le(n: number): Buffer { const b = Buffer.alloc(2); b.writeUInt16LE(n); return b; }
function u32le(n: number): Buffer { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; }
