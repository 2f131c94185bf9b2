/**
 * Where ffmpeg / ffprobe live, and how to run them.
 *
 * Paths come from FFMPEG_PATH / FFPROBE_PATH (read by the config loader and handed over with
 * `useBinaries`), else from the npm packages that ship static binaries
 * (@ffmpeg-installer/ffmpeg, @ffprobe-installer/ffprobe).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import { observeFfmpeg } from '../telemetry/observe.js';
import { MediaError } from './errors.js';

const require = createRequire(import.meta.url);

let cachedFfmpeg: string | undefined;
let cachedFfprobe: string | undefined;

/** Configured binaries (`config.media`); null = the npm packages' binaries. */
export interface MediaBinaries {
  ffmpegPath: string | null;
  ffprobePath: string | null;
}

export function mediaBinariesFromEnv(env: NodeJS.ProcessEnv): MediaBinaries {
  return { ffmpegPath: env.FFMPEG_PATH?.trim() || null, ffprobePath: env.FFPROBE_PATH?.trim() || null };
}

// Process-wide, like the binaries themselves: media code runs deep below any composition point.
let configured: MediaBinaries = { ffmpegPath: null, ffprobePath: null };

/** Called where the app or a worker is composed (src/app/compose.ts). */
export function useBinaries(binaries: MediaBinaries): void {
  configured = { ...binaries };
}

export function ffmpegPath(): string {
  if (configured.ffmpegPath) return configured.ffmpegPath;
  if (!cachedFfmpeg) {
    try {
      cachedFfmpeg = (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
    } catch (err) {
      throw new MediaError('binary_missing', 'ffmpeg not found: set FFMPEG_PATH or install @ffmpeg-installer/ffmpeg', { cause: err });
    }
  }
  return cachedFfmpeg;
}

export function ffprobePath(): string {
  if (configured.ffprobePath) return configured.ffprobePath;
  if (!cachedFfprobe) {
    try {
      cachedFfprobe = (require('@ffprobe-installer/ffprobe') as { path: string }).path;
    } catch (err) {
      throw new MediaError('binary_missing', 'ffprobe not found: set FFPROBE_PATH or install @ffprobe-installer/ffprobe', { cause: err });
    }
  }
  return cachedFfprobe;
}

export interface RunOptions {
  signal?: AbortSignal;
  /** Kill the process after this many milliseconds (default 10 minutes). */
  timeoutMs?: number;
  /** Collect stdout into a Buffer (e.g. raw pixels, ffprobe JSON). */
  captureStdout?: boolean;
  /** Called with each stderr chunk as it arrives (progress parsing). */
  onStderr?: (chunk: string) => void;
}

export interface RunResult {
  /** Whole stderr, capped at the last ~4 MB (detect filters log there). */
  stderr: string;
  stdout: Buffer;
  elapsedMs: number;
}

const STDERR_CAP = 4 * 1024 * 1024;
const STDERR_TAIL_LINES = 15;
const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;

/** `-progress` output lines (key=value), left out of error tails. */
const PROGRESS_LINE = /^(frame|fps|stream_\d+_\d+_q|bitrate|total_size|out_time(_us|_ms)?|dup_frames|drop_frames|speed|progress)=\S*$/;

function tail(text: string, lines = STDERR_TAIL_LINES): string {
  return text
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '' && !PROGRESS_LINE.test(l.trim()))
    .slice(-lines)
    .join('\n');
}

/**
 * ffmpeg must not outlive the process that runs it: an orphaned render keeps burning CPU and
 * writing a file nobody will use. On Linux the child is started through util-linux's `setpriv
 * --pdeathsig KILL`, which makes the kernel kill it when its parent dies, even by SIGKILL (Node
 * cannot set PR_SET_PDEATHSIG itself). Elsewhere, or without setpriv, the children still running
 * are killed when this process exits normally or on a signal handler's exit.
 */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => process.platform === 'linux' && fs.existsSync(p)) ?? null;

function diesWithParent(bin: string, args: string[]): [string, string[]] {
  return SETPRIV ? [SETPRIV, ['--pdeathsig', 'KILL', '--', bin, ...args]] : [bin, args];
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function run(bin: string, tool: 'ffmpeg' | 'ffprobe', args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const { signal, timeoutMs = DEFAULT_TIMEOUT_MS, captureStdout = false, onStderr } = opts;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new MediaError('aborted', `${tool} aborted before start`, { cause: signal.reason }));
      return;
    }
    const started = performance.now();
    const [file, argv] = diesWithParent(bin, args);
    const child = spawn(file, argv, { stdio: ['ignore', captureStdout ? 'pipe' : 'ignore', 'pipe'] });
    running.add(child);
    child.once('exit', () => running.delete(child));
    let stderr = '';
    const stdoutChunks: Buffer[] = [];
    let killedFor: 'timeout' | 'aborted' | undefined;

    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      stderr += chunk;
      onStderr?.(chunk);
      if (stderr.length > STDERR_CAP) stderr = stderr.slice(stderr.length - STDERR_CAP / 2);
    });
    child.stdout?.on('data', (chunk: Buffer) => stdoutChunks.push(chunk));

    const kill = (why: 'timeout' | 'aborted') => {
      if (killedFor) return;
      killedFor = why;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(() => kill('timeout'), timeoutMs);
    const onAbort = () => kill('aborted');
    signal?.addEventListener('abort', onAbort, { once: true });

    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };

    child.on('error', (err) => {
      cleanup();
      reject(new MediaError('binary_missing', `cannot run ${tool} (${bin}): ${err.message}`, { cause: err }));
    });
    child.on('close', (code, sig) => {
      cleanup();
      const elapsedMs = performance.now() - started;
      observeFfmpeg(tool, elapsedMs / 1000, killedFor ?? (code === 0 ? 'ok' : 'error'));
      if (killedFor === 'timeout') {
        reject(new MediaError('timeout', `${tool} timed out after ${timeoutMs} ms`, { stderrTail: tail(stderr), args }));
      } else if (killedFor === 'aborted') {
        reject(new MediaError('aborted', `${tool} aborted`, { stderrTail: tail(stderr), args, cause: signal?.reason }));
      } else if (SETPRIV && (code === 126 || code === 127) && stderr.startsWith('setpriv: failed to execute')) {
        // 127: no such file; 126: not executable by this user (e.g. installed by root, u+x only).
        reject(new MediaError('binary_missing', `cannot run ${tool} (${bin}): ${stderr.trim()}`));
      } else if (code !== 0) {
        const last = tail(stderr);
        reject(
          new MediaError('ffmpeg_failed', `${tool} exited with ${code ?? sig}: ${tail(stderr, 3) || '(no stderr)'}`, {
            stderrTail: last,
            exitCode: code,
            args,
          }),
        );
      } else {
        resolve({ stderr, stdout: Buffer.concat(stdoutChunks), elapsedMs });
      }
    });
  });
}

/**
 * The largest single allocation ffmpeg and ffprobe may make (`-max_alloc`). Nothing we make needs
 * more than a few hundred MB in one block (a 4096x4096 frame at 16 bits per channel is 128 MB),
 * while a picture declaring 16000x16000 at 16-bit RGBA asks for 2 GB at once: with the cap its
 * decoder fails in milliseconds instead of swapping the host (ffprobe still reports the size).
 */
export const MAX_ALLOC_BYTES = 512 * 1024 * 1024;
const COMMON = ['-hide_banner', '-max_alloc', String(MAX_ALLOC_BYTES)];

/** Run ffmpeg with `-hide_banner -max_alloc … -nostdin -y` prepended. Throws MediaError (with the stderr tail) on failure. */
export function runFfmpeg(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(ffmpegPath(), 'ffmpeg', [...COMMON, '-nostdin', '-y', ...args], opts);
}

/** Run ffprobe (with `-hide_banner -max_alloc …`); stdout is always captured. */
export function runFfprobe(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(ffprobePath(), 'ffprobe', [...COMMON, ...args], { ...opts, captureStdout: true });
}

export interface FfmpegCapabilities {
  /** amix has `normalize` (ffmpeg >= 4.4); otherwise the mix is scaled back by hand. */
  amixNormalize: boolean;
  /** Private options of the native AAC encoder this build has (aac_ms, aac_is, aac_pns, ...). */
  aacOptions: ReadonlySet<string>;
}

const capabilityCache = new Map<string, Promise<FfmpegCapabilities>>();

/** Feature probe of the configured ffmpeg (cached per binary path). */
export function ffmpegCapabilities(): Promise<FfmpegCapabilities> {
  const bin = ffmpegPath();
  let cached = capabilityCache.get(bin);
  if (!cached) {
    const help = (topic: string) =>
      runFfmpeg(['-h', topic], { captureStdout: true, timeoutMs: 30_000 }).then((r) => r.stdout.toString('utf8') + r.stderr);
    cached = Promise.all([help('filter=amix'), help('encoder=aac')]).then(([amix, aac]) => ({
      amixNormalize: /^\s*normalize\b/m.test(amix),
      aacOptions: new Set([...aac.matchAll(/^\s*-(aac_\w+)\b/gm)].map((m) => m[1]!)),
    }));
    cached.catch(() => capabilityCache.delete(bin));
    capabilityCache.set(bin, cached);
  }
  return cached;
}
