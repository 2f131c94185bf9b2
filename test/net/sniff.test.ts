import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sniff, sniffFile } from '../../src/net/sniff.js';
import { makeMedia, recipes } from './media.js';
import { tempDir } from './servers.js';

const expected: Record<string, { mime: string; ext: string }> = {
  'a.png': { mime: 'image/png', ext: 'png' },
  'a.jpg': { mime: 'image/jpeg', ext: 'jpg' },
  'a.gif': { mime: 'image/gif', ext: 'gif' },
  'a.webp': { mime: 'image/webp', ext: 'webp' },
  'a.mp4': { mime: 'video/mp4', ext: 'mp4' },
  'a.mov': { mime: 'video/quicktime', ext: 'mov' },
  'a.webm': { mime: 'video/webm', ext: 'webm' },
  'a.mkv': { mime: 'video/x-matroska', ext: 'mkv' },
  'a.mp3': { mime: 'audio/mpeg', ext: 'mp3' },
  'noid3.mp3': { mime: 'audio/mpeg', ext: 'mp3' },
  'a.wav': { mime: 'audio/wav', ext: 'wav' },
  'a.ogg': { mime: 'audio/ogg', ext: 'ogg' },
  'a.opus': { mime: 'audio/ogg', ext: 'ogg' },
  'a.flac': { mime: 'audio/flac', ext: 'flac' },
  'a.m4a': { mime: 'audio/mp4', ext: 'm4a' },
  'a.aac': { mime: 'audio/aac', ext: 'aac' },
};

let dir: string;
beforeAll(async () => {
  dir = tempDir('lavendly-sniff-');
  await Promise.all(Object.keys(expected).map((name) => makeMedia(dir, name)));
}, 60_000);
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('sniff (real files made by ffmpeg)', () => {
  it.each(Object.keys(expected))('%s', async (name) => {
    expect(recipes[name]).toBeDefined();
    const got = await sniffFile(`${dir}/${name}`);
    expect(got).toMatchObject(expected[name]!);
  });
});

describe('sniff (bytes)', () => {
  it('ignores what the name or declared type says: only bytes count', () => {
    expect(sniff(Buffer.from('<html><script>alert(1)</script></html>'))).toBeNull();
    expect(sniff(Buffer.from('%PDF-1.7\n'))).toBeNull();
    expect(sniff(Buffer.from('PK\x03\x04zipzipzip'))).toBeNull();
    expect(sniff(Buffer.from('RIFF\0\0\0\0AVI LIST'))).toBeNull();
    expect(sniff(Buffer.from([0x89, 0x50]))).toBeNull();
    expect(sniff(Buffer.alloc(0))).toBeNull();
    expect(sniff(Buffer.alloc(100))).toBeNull();
  });

  it('tells container families apart', () => {
    expect(sniff(Buffer.from('\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41'))?.families).toEqual(['video', 'audio']);
    expect(sniff(Buffer.from('\0\0\0\x1cftypM4A \0\0\0\0M4A mp42isom'))?.families).toEqual(['audio']);
    expect(sniff(Buffer.from('\0\0\0\x1cftypheic\0\0\0\0mif1heic'))).toBeNull();
    expect(sniff(Buffer.from('\0\0\0\x14ftypqt  \0\0\0\0qt  '))?.mime).toBe('video/quicktime');
    expect(sniff(Buffer.from([0xff, 0xfb, 0x90, 0x64]))?.mime).toBe('audio/mpeg'); // MPEG-1 layer III frame
    expect(sniff(Buffer.from([0xff, 0xf1, 0x50, 0x80]))?.mime).toBe('audio/aac'); // ADTS
    expect(sniff(Buffer.from([0xff, 0xfb, 0xf0, 0x64]))).toBeNull(); // bad bitrate index
    expect(sniff(Buffer.from('OggS\0\x02' + '\0'.repeat(22) + '\x80theora'))?.families).toEqual(['video', 'audio']);
  });
});
