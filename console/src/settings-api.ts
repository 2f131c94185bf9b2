/**
 * Settings calls the console-api helper adds to the server (API keys, channel OAuth). They go
 * through the generated SDK by operation id once the spec has them; until then, plain
 * same-origin calls with the session.
 */
import { jsonCall } from './api.js';

export interface ApiKey { id: string; name: string | null; prefix?: string; scopes: string[]; created_at: string; last_used_at?: string | null; revoked_at?: string | null }
export interface NewApiKey extends ApiKey { key: string }

export const channelConnectUrl = (platform: 'youtube' | 'tiktok') => `/auth/channels/${platform}/start`;

export async function disconnectChannel(id: string): Promise<void> {
  await jsonCall('DELETE', `/v1/channels/${encodeURIComponent(id)}`);
}

export async function listApiKeys(): Promise<ApiKey[]> {
  return (await jsonCall<{ data: ApiKey[] }>('GET', '/v1/api-keys')).body.data;
}

export async function createApiKey(name: string, scopes: string[]): Promise<NewApiKey> {
  return (await jsonCall<NewApiKey>('POST', '/v1/api-keys', { name, scopes })).body;
}

export async function revokeApiKey(id: string): Promise<void> {
  await jsonCall('DELETE', `/v1/api-keys/${encodeURIComponent(id)}`);
}
