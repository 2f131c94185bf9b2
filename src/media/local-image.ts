import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runFfmpeg } from './binaries.js';
import { MediaError } from './errors.js';
import { escapeFilterValue, withTempDir, writeAtomically } from './files.js';
import type { GenerateImageRequest, GeneratedImage, TextToImageProvider } from './providers.js';

export const DEFAULT_FONT_FILE = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

export type Rgb = [number, number, number];

function hslToRgb(h: number, s: number, l: number): Rgb {
  const k = (n: number) => (n + h * 12) % 12;
  const a = s * Math.min(l, 1 - l);
  const f = (n: number) => l - a * Math.max(-1, Math.min(k(n) - 3, Math.min(9 - k(n), 1)));
  return [Math.round(f(0) * 255), Math.round(f(8) * 255), Math.round(f(4) * 255)];
}

/** Two colours derived from a hash of the prompt (deterministic; different prompts differ). */
export function promptColors(prompt: string): { from: Rgb; to: Rgb } {
  const h = createHash('sha256').update(prompt, 'utf8').digest();
  const hue1 = h.readUInt16BE(0) / 65536;
  const hue2 = (hue1 + 0.17 + (h[2]! / 255) * 0.33) % 1; // 60..180 degrees away
  const sat = 0.55 + (h[3]! / 255) * 0.25;
  const light1 = 0.32 + (h[4]! / 255) * 0.18;
  const light2 = 0.32 + (h[5]! / 255) * 0.18;
  return { from: hslToRgb(hue1, sat, light1), to: hslToRgb(hue2, sat, light2) };
}

/** Wrap text into at most `maxLines` lines of about `maxChars` characters. */
export function wrapText(text: string, maxChars: number, maxLines: number): string {
  // eslint-disable-next-line no-control-regex
  const words = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = '';
  for (let word of words) {
    while (word.length > maxChars) {
      if (line) { lines.push(line); line = ''; }
      lines.push(word.slice(0, maxChars));
      word = word.slice(maxChars);
    }
    if (!word) continue;
    if (line && line.length + 1 + word.length > maxChars) { lines.push(line); line = word; }
    else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  if (lines.length > maxLines) {
    const kept = lines.slice(0, maxLines);
    const last = kept[maxLines - 1]!;
    kept[maxLines - 1] = `${last.slice(0, Math.max(0, maxChars - 1))}…`;
    return kept.join('\n');
  }
  return lines.join('\n');
}

export interface LocalImageOptions {
  /** TrueType font for the drawn prompt; when missing, the still has no text. */
  fontFile?: string;
  timeoutMs?: number;
}

function assertSize(width: number, height: number): void {
  for (const [k, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < 16 || v > 4096) throw new MediaError('invalid_input', `${k} must be an integer in 16..4096, got ${v}`);
  }
}

/** Built-in text-to-image: a diagonal two-colour gradient from the prompt's hash with the prompt drawn on it. */
export class LocalImageProvider implements TextToImageProvider {
  readonly name = 'local';
  private readonly fontFile: string | null;
  private readonly timeoutMs: number;

  constructor(opts: LocalImageOptions = {}) {
    const font = opts.fontFile ?? DEFAULT_FONT_FILE;
    this.fontFile = existsSync(font) ? font : null;
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  /** Whether prompt text is drawn (a font was found). */
  get drawsText(): boolean {
    return this.fontFile !== null;
  }

  async generateImage(req: GenerateImageRequest): Promise<GeneratedImage> {
    const { prompt, width, height, outPath, signal } = req;
    assertSize(width, height);
    const { from, to } = promptColors(prompt);
    const mix = (i: 0 | 1 | 2) => `${from[i]}+(${to[i] - from[i]})*(X/W+Y/H)/2`;
    const filters = [`format=gbrp`, `geq=r='${mix(0)}':g='${mix(1)}':b='${mix(2)}'`];

    return withTempDir(async (tmp) => {
      const text = this.fontFile ? this.layoutText(prompt, width, height) : null;
      if (text) {
        const textFile = path.join(tmp, 'prompt.txt');
        await writeFile(textFile, text.body, 'utf8');
        const shadow = Math.max(1, Math.round(text.fontSize / 14));
        filters.push(
          [
            `drawtext=fontfile=${escapeFilterValue(this.fontFile!)}`,
            `textfile=${escapeFilterValue(textFile)}`,
            'expansion=none',
            'fontcolor=white',
            `fontsize=${text.fontSize}`,
            `line_spacing=${Math.round(text.fontSize * 0.25)}`,
            'x=(w-text_w)/2',
            'y=(h-text_h)/2',
            'shadowcolor=black@0.6',
            `shadowx=${shadow}`,
            `shadowy=${shadow}`,
          ].join(':'),
        );
      }
      filters.push('format=rgb24');
      await writeAtomically(outPath, (tmpOut) =>
        runFfmpeg(
          ['-f', 'lavfi', '-i', `color=c=black:s=${width}x${height}:r=1`, '-vf', filters.join(','), '-frames:v', '1', '-f', 'image2', '-update', '1', '-c:v', 'png', tmpOut],
          { signal, timeoutMs: this.timeoutMs },
        ),
      );
      return { path: outPath, width, height };
    });
  }

  private layoutText(prompt: string, width: number, height: number): { body: string; fontSize: number } | null {
    // Kept within the middle ~60% so the clip's zoom and pan never crop it.
    const fontSize = Math.max(8, Math.round(Math.min(height / 12, width / 22)));
    const maxChars = Math.max(4, Math.floor((width * 0.6) / (fontSize * 0.56)));
    const maxLines = Math.max(1, Math.floor((height * 0.6) / (fontSize * 1.3)));
    const body = wrapText(prompt.slice(0, 600), maxChars, maxLines);
    return body ? { body, fontSize } : null;
  }
}
