import crypto from 'node:crypto';
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isDiskFull } from '../util/disk-full.js';
import { PublishError, type PublishRequest, type PublishResult, type Publisher } from './types.js';

export interface LocalOptions {
  /** Posts land in `<dataDir>/published/<channel id>/<publication id>.mp4`. */
  dataDir: string;
}

/** Ids are ours (prefix + base64url), but a path component must never climb out of its folder. */
function safeName(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9_-]/g, '_');
  if (!cleaned || cleaned === '.' || cleaned === '..') throw new PublishError(`'${value}' cannot name a file`);
  return cleaned;
}

/**
 * The offline platform: "publishing" copies the render into the data directory, atomically (a
 * temporary sibling renamed into place), so the whole flow works without any network. Publishing
 * the same publication again rewrites the same file rather than adding a second one.
 */
export function localPublisher(options: LocalOptions): Publisher {
  return {
    platform: 'local',
    async publish(request: PublishRequest): Promise<PublishResult> {
      const info = await stat(request.video.path).catch(() => null);
      if (!info?.isFile()) throw new PublishError('The rendered video file is missing; render it again.');
      const dir = path.join(options.dataDir, 'published', safeName(request.channel.id));
      const name = `${safeName(request.publicationId ?? `post_${crypto.randomBytes(8).toString('hex')}`)}.mp4`;
      const dest = path.join(dir, name);
      await mkdir(dir, { recursive: true });
      const tmp = path.join(dir, `.${name}.partial-${crypto.randomBytes(4).toString('hex')}`);
      try {
        await copyFile(request.video.path, tmp);
        await rename(tmp, dest);
      } catch (err) {
        await rm(tmp, { force: true });
        // A full disk passes once space is freed: retried like a platform's outage. The message is
        // the customer's (the publication's error), so it names the failure, never our paths.
        if (isDiskFull(err)) throw new PublishError('Could not write the published video: the server is out of disk space; it will be tried again.', true);
        throw new PublishError(`Could not write the published video (${(err as NodeJS.ErrnoException).code ?? 'write failed'}).`);
      }
      return { externalId: `${safeName(request.channel.id)}/${name}`, url: pathToFileURL(dest).href };
    },
  };
}
