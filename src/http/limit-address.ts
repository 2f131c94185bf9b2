import type Koa from 'koa';
import { addressGroup } from '../net/address-group.js';

/** What per-address limits count a request under: its client's IPv4 address or IPv6 /64. */
export function limitAddress(ctx: Koa.Context): string {
  return addressGroup(ctx.ip || 'unknown');
}
