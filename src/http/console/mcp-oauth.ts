/**
 * OAuth 2.1 for remote MCP clients, outside /v1 (the MCP authorization spec, 2025-11-25):
 *   GET  /.well-known/oauth-protected-resource[/mcp]  protected-resource metadata (RFC 9728)
 *   GET  /.well-known/oauth-authorization-server      authorization-server metadata (RFC 8414)
 *   POST /oauth/register                              dynamic client registration (RFC 7591)
 *   POST /oauth/token                                 authorization code + PKCE -> access token
 *   (GET|POST /oauth/authorize: src/http/console/mcp-authorize.ts, the person's consent)
 * and the `WWW-Authenticate: Bearer resource_metadata=...` challenge on /mcp's 401s. These answer
 * in OAuth's own error format (`{error, error_description}`), which OAuth clients parse.
 */
import type Koa from 'koa';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { Db } from '../../db/knex.js';
import { ClientMetadataError, registerClient } from '../../oauth/clients.js';
import { redeemAuthorizationCode, TokenRequestError } from '../../oauth/mcp-codes.js';
import { FailureThrottle } from '../../console-auth/throttle.js';
import { ApiError } from '../errors.js';
import { clientFault } from './client-fault.js';
import { readJsonObject } from './json-body.js';
import { readForm } from './form-body.js';
import { limitAddress } from '../limit-address.js';

export const MCP_OAUTH_PATHS = {
  resourceMetadata: '/.well-known/oauth-protected-resource',
  serverMetadata: '/.well-known/oauth-authorization-server',
  register: '/oauth/register',
  authorize: '/oauth/authorize',
  token: '/oauth/token',
} as const;

/** The issuer and resource names: this server's public URL, read per request (tests move it). */
export function issuerOf(config: Pick<Config, 'publicBaseUrl'>): string {
  return config.publicBaseUrl.replace(/\/+$/, '');
}
export const mcpResourceOf = (config: Pick<Config, 'publicBaseUrl'>) => `${issuerOf(config)}/mcp`;

function oauthError(ctx: Koa.Context, status: number, error: string, description: string): void {
  ctx.status = status;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { error, error_description: description };
}

function publicJson(ctx: Koa.Context, body: unknown, status = 200): void {
  // Browser-based MCP clients read these from other origins; no cookies are involved.
  ctx.set('Access-Control-Allow-Origin', '*');
  ctx.status = status;
  ctx.body = body;
}

export function mcpOAuthEndpoints(deps: { db: Db; config: Config; logger: Logger }): Koa.Middleware {
  // Registration needs no credentials; this keeps one address from filling the table.
  const registrations = new FailureThrottle(30, 3600_000);
  return async (ctx, next) => {
    const path = ctx.path;
    if (path === MCP_OAUTH_PATHS.resourceMetadata || path === `${MCP_OAUTH_PATHS.resourceMetadata}/mcp`) {
      onlyGet(ctx);
      return publicJson(ctx, {
        resource: mcpResourceOf(deps.config),
        authorization_servers: [issuerOf(deps.config)],
        bearer_methods_supported: ['header'],
        scopes_supported: ['mcp'],
        resource_name: 'Lavendly MCP server',
        resource_documentation: `${issuerOf(deps.config)}/docs`,
      });
    }
    if (path === MCP_OAUTH_PATHS.serverMetadata) {
      onlyGet(ctx);
      const issuer = issuerOf(deps.config);
      return publicJson(ctx, {
        issuer,
        authorization_endpoint: `${issuer}${MCP_OAUTH_PATHS.authorize}`,
        token_endpoint: `${issuer}${MCP_OAUTH_PATHS.token}`,
        registration_endpoint: `${issuer}${MCP_OAUTH_PATHS.register}`,
        response_types_supported: ['code'],
        grant_types_supported: ['authorization_code'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['none'],
        scopes_supported: ['mcp'],
        authorization_response_iss_parameter_supported: true,
      });
    }
    if (path === MCP_OAUTH_PATHS.register) return inOAuthForm(ctx, 'invalid_client_metadata', async () => {
      onlyPost(ctx);
      const address = limitAddress(ctx);
      if (registrations.blockedFor(address)) return oauthError(ctx, 429, 'too_many_requests', 'Too many client registrations from this address; try later.');
      const body = await readJsonObject(ctx);
      try {
        const client = await registerClient(deps.db, body);
        registrations.fail(address);
        deps.logger.info({ client_id: client.client_id, client_name: client.client_name }, 'OAuth client registered');
        return publicJson(ctx, {
          client_id: client.client_id,
          client_id_issued_at: Math.floor(Date.parse(client.created_at) / 1000),
          client_name: client.client_name,
          redirect_uris: client.redirect_uris,
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code'],
          response_types: ['code'],
        }, 201);
      } catch (err) {
        if (err instanceof ClientMetadataError) return oauthError(ctx, 400, err.error, err.message);
        throw err;
      }
    });
    if (path === MCP_OAUTH_PATHS.token) return inOAuthForm(ctx, 'invalid_request', async () => {
      onlyPost(ctx);
      ctx.set('Access-Control-Allow-Origin', '*');
      const form = await readForm(ctx);
      if (!form) return oauthError(ctx, 400, 'invalid_request', 'Send the token request as application/x-www-form-urlencoded.');
      if (form.get('grant_type') !== 'authorization_code') return oauthError(ctx, 400, 'unsupported_grant_type', 'Only grant_type=authorization_code is supported.');
      const field = (name: string) => form.get(name) ?? '';
      try {
        const issued = await redeemAuthorizationCode(deps.db, {
          code: field('code'), clientId: field('client_id'), redirectUri: field('redirect_uri'), codeVerifier: field('code_verifier'),
        });
        deps.logger.info({ client_id: field('client_id'), key_id: issued.keyId }, 'MCP client authorized');
        ctx.set('Cache-Control', 'no-store');
        ctx.status = 200;
        ctx.body = { access_token: issued.accessToken, token_type: 'Bearer', scope: issued.scope };
        return;
      } catch (err) {
        if (err instanceof TokenRequestError) return oauthError(ctx, err.error === 'invalid_client' ? 401 : 400, err.error, err.message);
        throw err;
      }
    });
    return next();
  };
}

/**
 * Runs a registration or token request so that what the shared body readers and method checks
 * throw (405, 413, 415, a 400 for JSON that does not parse or text no database stores) also
 * answers in OAuth's format, with the same status and headers (`Allow`).
 */
async function inOAuthForm(ctx: Koa.Context, error: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (err) {
    const fault = clientFault(err);
    if (!fault) throw err;
    for (const [name, value] of Object.entries(fault.headers)) ctx.set(name, value);
    oauthError(ctx, fault.status, fault.status === 400 ? error : 'invalid_request', fault.message);
  }
}

function onlyGet(ctx: Koa.Context): void {
  if (ctx.method !== 'GET' && ctx.method !== 'HEAD') throw new ApiError('method_not_allowed', `${ctx.path} accepts GET only.`, { method: ctx.method, allowed: ['GET', 'HEAD'] }, { Allow: 'GET, HEAD' });
}
function onlyPost(ctx: Koa.Context): void {
  if (ctx.method !== 'POST') throw new ApiError('method_not_allowed', `${ctx.path} accepts POST only.`, { method: ctx.method, allowed: ['POST'] }, { Allow: 'POST' });
}

/**
 * Put in front of /mcp: its 401s name the protected-resource metadata, so an OAuth-capable MCP
 * client can find the authorization server (RFC 9728 section 5.1).
 */
export function mcpAuthChallenge(config: Pick<Config, 'publicBaseUrl'>, mcpPath = '/mcp'): Koa.Middleware {
  return async (ctx, next) => {
    if (ctx.path !== mcpPath && ctx.path !== `${mcpPath}/`) return next();
    try {
      await next();
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) {
        err.headers['WWW-Authenticate'] = `Bearer realm="lavendly", resource_metadata="${issuerOf(config)}${MCP_OAUTH_PATHS.resourceMetadata}/mcp"`;
      }
      throw err;
    }
  };
}
