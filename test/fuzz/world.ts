/**
 * The objects a fuzz run aims at, made through the real API before it starts: an account with
 * credits and every scope, a workflow generated and rendered (clips, frames, audio), an audio track,
 * uploads, a channel, a scheduled publication, reservations, a webhook endpoint with a delivery,
 * and a second account whose ids must never be reachable. A worker runs generation and the render
 * during setup only: the fuzz itself never waits on media work (jobs it starts stay queued).
 */
import fs from 'node:fs';
import { expect } from 'vitest';
import { runFfmpeg } from '../../src/media/index.js';
import { fixtureClip, makeTempDir, musicFile } from '../media/helpers.js';
import { call, type TestServer } from '../helpers/server.js';
import { createWorkflow, local, startRender, startWorker, upload, useSmallClips, waitForRender } from '../renders/helpers.js';
import type { IdPools } from './values.js';

export interface World {
  key: string;
  otherKey: string;
  ids: IdPools;
  /** Open upload slots by id: the token of their `upload_url` and the kind of file they take. */
  uploads: Record<string, Upload>;
  /** A real file of each kind (image, video, music): what a slot of that kind accepts. */
  media: Record<string, Buffer>;
  /** Ids that DELETE requests leave alone, so the deeper objects survive the run. */
  keep: Set<string>;
  /** Node ids by workflow id. */
  nodes: Record<string, string[]>;
}

export interface Upload { token: string; kind: string }

async function ok(r: Promise<{ status: number; text: string; json: any }>, status: number): Promise<any> {
  const res = await r;
  expect(res.status, res.text).toBe(status);
  return res.json;
}

async function waitForGeneration(s: TestServer, key: string, workflowId: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const r = await call(`${s.base}/workflows/${workflowId}/generation-status`, { key });
    if (r.json?.status === 'succeeded') return;
    if (r.json?.status === 'failed') throw new Error(`generation failed: ${r.text}`);
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error('generation did not finish in 30 s');
}

export async function buildWorld(s: TestServer): Promise<World> {
  const providers = useSmallClips(s);
  const tmp = await makeTempDir('fuzz-world');
  const worker = startWorker(s, providers.providers);
  try {
    const a = await s.account({ credits: 100_000, scopes: ['admin', 'ledger:write'], name: 'Fuzz' });
    const b = await s.account({ credits: 100, scopes: ['admin', 'ledger:write'], name: 'Other' });
    const key = a.key;
    const [musicPath, imagePath] = await Promise.all([
      musicFile(tmp.file('theme.m4a'), 2),
      fixtureClip(tmp.file('still.mp4'), { durationS: 1 }),
      runFfmpeg(['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=s=64x48', '-frames:v', '1', tmp.file('frame.png')]),
    ]);
    const endpoint = await ok(call(`${s.base}/webhooks/endpoints`, { key, body: { url: 'https://93.184.215.14/hook', events: ['*'] } }), 201);
    const spareEndpoint = await ok(call(`${s.base}/webhooks/endpoints`, { key, body: { url: 'https://93.184.215.14/spare', events: ['balance.low'] } }), 201);
    const rendered = await createWorkflow(s, key, [1, 1], 'Rendered');
    await ok(call(`${s.base}/workflows/${rendered.id}/generate`, { key, body: {} }), 202);
    await waitForGeneration(s, key, rendered.id);
    const music = await upload(s, key, musicPath, 'music');
    const video = await upload(s, key, imagePath, 'video');
    // A shot may start from an image asset: without one, every shot naming an asset is refused.
    const picture = await upload(s, key, tmp.file('frame.png'), 'image');
    const clip = rendered.scenes[0]!.node_id;
    const track = await ok(call(`${s.base}/workflows/${rendered.id}/clips/${clip}/tracks`, { key, body: { asset_id: music.id, kind: 'music', offset_s: 0.2 } }), 201);
    const render = (await startRender(s, key, rendered.id)).json;
    await waitForRender(s, key, rendered.id, render.id);
    const drafts = await Promise.all([1, 2, 3].map((n) => createWorkflow(s, key, [1], `Draft ${n}`)));
    const channel = await ok(call(`${s.base}/channels`, { key, body: { account_id: a.id, platform: 'local', name: 'Local folder', credentials: {} } }), 201);
    const when = new Date(Date.now() + 86_400_000).toISOString();
    const publication = await ok(call(`${s.base}/workflows/${rendered.id}/publish`, { key, body: { channel_id: channel.id, title: 'Fuzz', when } }), 202);
    const reservations = await Promise.all([1, 2, 3, 4, 5].map(() => ok(call(`${s.base}/ledger/reservations`, { key, body: { amount: 5, reason: 'fuzz' } }), 201)));
    const slot = await ok(call(`${s.base}/uploads`, { key, body: { kind: 'image', filename: 'pending.png' } }), 201);
    const deliveries = await ok(call(`${s.base}/webhooks/endpoints/${endpoint.id}/deliveries`, { key }), 200);
    // The other account: its ids must answer 404 to the fuzz account, never its objects.
    const foreign = await createWorkflow(s, b.key, [1], 'Not yours');
    const foreignRsv = await ok(call(`${s.base}/ledger/reservations`, { key: b.key, body: { amount: 1, reason: 'theirs' } }), 201);
    const foreignHook = await ok(call(`${s.base}/webhooks/endpoints`, { key: b.key, body: { url: 'https://93.184.215.14/b', events: ['*'] } }), 201);

    const ids: IdPools = {
      WorkflowId: [rendered.id, ...drafts.map((d) => d.id)],
      NodeId: [...rendered.scenes.map((sc) => sc.node_id), drafts[0]!.scenes[0]!.node_id],
      AssetId: [music.id, video.id, picture.id],
      // The one model this server wires (the local provider): others answer model_not_available.
      VideoModelChoice: ['local'],
      UploadId: [slot.id],
      RenderId: [render.id],
      TrackId: [track.id],
      ChannelId: [channel.id],
      AccountId: [a.id],
      PublicationId: [publication.id],
      ReservationId: reservations.map((r) => r.id),
      WebhookEndpointId: [endpoint.id, spareEndpoint.id],
      WebhookDeliveryId: deliveries.data.map((d: { id: string }) => d.id),
      __foreign: [foreign.id, foreign.scenes[0]!.node_id, foreignRsv.id, foreignHook.id, b.id],
    };
    const token = new URL(local(s, slot.upload_url)).searchParams.get('token')!;
    const media = { image: fs.readFileSync(tmp.file('frame.png')), video: fs.readFileSync(imagePath), music: fs.readFileSync(musicPath) };
    const nodes = Object.fromEntries([rendered, ...drafts].map((w) => [w.id, w.scenes.map((sc) => sc.node_id)]));
    return { key, otherKey: b.key, ids, uploads: { [slot.id]: { token, kind: 'image' } }, media, keep: new Set([rendered.id, endpoint.id, track.id, channel.id]), nodes };
  } finally {
    await worker.stop({ abortAfterMs: 500 });
    await tmp.cleanup();
  }
}
