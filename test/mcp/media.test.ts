/**
 * Frames as images a model can see: get_scene_frame and review_scenes answer image blocks (scaled
 * down to 512 px by default, decoded here with ffprobe) plus resource links, over both transports.
 */
import fs from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeMedia } from '../../src/media/index.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { fixtureClip, makeTempDir } from '../media/helpers.js';
import { createWorkflow, plantClip, useSmallClips } from '../renders/helpers.js';
import { connect, type TransportKind } from './helpers.js';

let server: TestServer;
let tmp: Awaited<ReturnType<typeof makeTempDir>>;
let acc: { id: string; key: string };
let wf: { id: string; scenes: { node_id: string }[] };

beforeAll(async () => {
  server = await startTestServer('sqlite', { publicLinks: true });
  useSmallClips(server);
  tmp = await makeTempDir('mcp-media');
  acc = await server.account({ name: 'media' });
  // Three scenes: two with a 1280x720 clip, the third never generated.
  wf = await createWorkflow(server, acc.key, [2, 2, 2]);
  const clip = await fixtureClip(tmp.file('wide.mp4'), { durationS: 2, size: '1280x720', audio: 'sine=f=330:r=48000' });
  for (const scene of wf.scenes.slice(0, 2)) await plantClip(server, acc.id, wf.id, scene.node_id, clip);
}, 120_000);

afterAll(async () => {
  await server?.close();
  await tmp?.cleanup();
});

/** Decodes an image block with ffprobe: its real size. */
async function decoded(block: { data: string; mimeType: string }, name: string): Promise<{ width: number; height: number }> {
  const file = tmp.file(`${name}.${block.mimeType.split('/')[1]}`);
  await fs.writeFile(file, Buffer.from(block.data, 'base64'));
  const probe = await probeMedia(file);
  return { width: probe.width!, height: probe.height! };
}

describe.each<TransportKind>(['http', 'stdio'])('over %s', (kind) => {
  it('get_scene_frame answers an image block of the frame scaled to 512 px, and a link to it', async () => {
    const c = await connect(kind, server, acc.key);
    try {
      const r = await c.client.callTool({ name: 'get_scene_frame', arguments: { id: wf.id, node_id: wf.scenes[0]!.node_id } });
      expect(r.isError).toBeFalsy();
      const frame = r.structuredContent as { url: string; width: number; height: number };
      expect([frame.width, frame.height]).toEqual([512, 288]);
      const content = r.content as any[];
      const images = content.filter((b) => b.type === 'image');
      expect(images).toHaveLength(1);
      expect(images[0].mimeType).toBe('image/png');
      expect(await decoded(images[0], `${kind}-one`)).toEqual({ width: 512, height: 288 });
      const links = content.filter((b) => b.type === 'resource_link');
      expect(links.map((l) => [l.uri, l.mimeType])).toEqual([[frame.url, 'image/png']]);

      // Another size on request.
      const small = await c.client.callTool({ name: 'get_scene_frame', arguments: { id: wf.id, node_id: wf.scenes[1]!.node_id, max_side: 100 } });
      const block = (small.content as any[]).find((b) => b.type === 'image');
      expect(await decoded(block, `${kind}-small`)).toEqual({ width: 100, height: 56 });
    } finally {
      await c.close();
    }
  });

  it('review_scenes: every scene in one call, a quality report and an image per generated scene', async () => {
    const c = await connect(kind, server, acc.key);
    try {
      const r = await c.client.callTool({ name: 'review_scenes', arguments: { id: wf.id } });
      expect(r.isError).toBeFalsy();
      const review = r.structuredContent as any;
      expect(review.reviewed).toBe(2);
      expect(review.pass).toBe(false); // the third scene has no clip
      expect(review.scenes.map((s: any) => [s.node_id, s.status, s.quality !== null, s.frame !== null])).toEqual([
        [wf.scenes[0]!.node_id, 'generated', true, true],
        [wf.scenes[1]!.node_id, 'generated', true, true],
        [wf.scenes[2]!.node_id, 'draft', false, false],
      ]);
      expect(review.scenes[0].quality.probe).toMatchObject({ width: 1280, height: 720 });
      const images = (r.content as any[]).filter((b) => b.type === 'image');
      expect(images).toHaveLength(2);
      for (const [i, image] of images.entries()) expect(await decoded(image, `${kind}-review-${i}`)).toEqual({ width: 512, height: 288 });
      expect((r.content as any[]).filter((b) => b.type === 'resource_link')).toHaveLength(2);
    } finally {
      await c.close();
    }
  });
});

describe('REST', () => {
  it('get_scene_frame stays full size unless max_side is given', async () => {
    const res = await fetch(`${server.base}/workflows/${wf.id}/scene-frame`, {
      method: 'POST', headers: { authorization: `Bearer ${acc.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ node_id: wf.scenes[0]!.node_id }),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ width: 1280, height: 720 });
  });
});
