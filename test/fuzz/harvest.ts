/**
 * Ids of objects the fuzz itself creates, fed back into the pools. Without them an operation that
 * uses an object up (revoke a key, commit a reservation, fill an upload slot, detach a track) only
 * ever meets the world's few objects, which earlier requests have already spent or which are kept
 * for the rest of the run, so its valid requests never reach past the 404 or 409.
 */
import type { RequestContext } from './requests.js';
import type { IdPools } from './values.js';

/** The id pool each creating operation's 201 feeds. */
const POOL_OF: Readonly<Record<string, string>> = {
  create_workflow: 'WorkflowId',
  create_api_key: 'ApiKeyId',
  attach_track: 'TrackId',
  reserve_credits: 'ReservationId',
  create_webhook_endpoint: 'WebhookEndpointId',
  connect_channel: 'ChannelId',
  create_upload: 'UploadId',
};

/** Harvested ids kept per pool, beside the world's own: enough to be found again, few enough to be used up. */
const KEEP_LAST = 8;

export class Harvest {
  private readonly world: IdPools;
  private readonly made: Record<string, string[]> = {};

  /** A new workflow's scenes join `ctx.nodes`, a new upload slot `ctx.uploads`. */
  constructor(private readonly ids: IdPools, private readonly ctx: Pick<RequestContext, 'nodes' | 'uploads'>) {
    this.world = Object.fromEntries(Object.entries(ids).map(([pool, list]) => [pool, [...list]]));
  }

  /** Adds the id of what a 201 answer created to its operation's pool. */
  take(operationId: string, status: number, text: string): void {
    const pool = POOL_OF[operationId];
    if (!pool || status !== 201) return;
    let created: { id?: unknown; scenes?: { node_id?: unknown }[]; upload_url?: unknown; kind?: unknown };
    try {
      created = JSON.parse(text);
    } catch {
      return;
    }
    const id = created.id;
    if (typeof id !== 'string') return;
    // A fresh workflow is the one an edit can still reach: the world's are soon busy generating.
    if (pool === 'WorkflowId' && Array.isArray(created.scenes)) this.ctx.nodes[id] = created.scenes.map((s) => String(s.node_id));
    if (pool === 'UploadId' && typeof created.upload_url === 'string') {
      const token = new URL(created.upload_url, 'http://fuzz.invalid').searchParams.get('token');
      if (token) this.ctx.uploads[id] = { token, kind: String(created.kind) };
    }
    const made = [...(this.made[pool] ?? []), id].slice(-KEEP_LAST);
    this.made[pool] = made;
    this.ids[pool] = [...(this.world[pool] ?? []), ...made];
  }
}
