import dns from 'node:dns/promises';
import {
  AddressNotAllowedError, checkAddress, checkUrl, type AddressPolicy,
} from '../net/address-policy.js';

/**
 * Which receivers a webhook may reach. Webhook URLs come from customers, so the server's SSRF
 * address policy (src/net) applies: public unicast addresses only, unless a test opens loopback or
 * one exact endpoint explicitly.
 */
export type { AddressPolicy };

export class AddressRefusedError extends Error {
  /** Whether asking again later may succeed: true only when the name did not resolve. */
  readonly retryable: boolean = false;
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'AddressRefusedError';
  }
}

/**
 * The host name did not resolve (ENOTFOUND, EAI_AGAIN, no answer). Refused at registration like
 * any other refusal, but at delivery it is retried: a resolver outage or a lapsed DNS record must
 * not drop every delivery at the first attempt.
 */
export class HostUnresolvedError extends AddressRefusedError {
  override readonly retryable = true;
  constructor(reason: string) {
    super(reason);
    this.name = 'HostUnresolvedError';
  }
}

/** Why `address` is refused under `policy`, or null when it may be used. */
export function refusalFor(address: string, policy: AddressPolicy = {}, port?: number): string | null {
  const verdict = checkAddress(address, policy, port);
  return verdict.allowed ? null : `${verdict.address} is an internal address (${verdict.range})`;
}

export interface ResolvedTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

/**
 * Vets the URL and resolves its host; every resolved address must pass (a name answering one
 * public and one internal address is refused). The caller connects to the returned address
 * itself, so a different second DNS answer cannot redirect the request (rebinding).
 */
export async function resolveWebhookTarget(raw: string, policy: AddressPolicy = {}): Promise<ResolvedTarget> {
  let target;
  try {
    target = checkUrl(raw, policy);
  } catch (err) {
    if (err instanceof AddressNotAllowedError) throw new AddressRefusedError(err.message.replace(/\.$/, ''));
    throw err;
  }
  let answers: { address: string; family: number }[];
  if (target.literal) {
    answers = [{ address: target.literal, family: target.literal.includes(':') ? 6 : 4 }];
  } else {
    try {
      answers = await dns.lookup(target.host, { all: true, verbatim: true });
    } catch (err) {
      throw new HostUnresolvedError(`the host '${target.host}' does not resolve (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (answers.length === 0) throw new HostUnresolvedError(`the host '${target.host}' does not resolve`);
  for (const a of answers) {
    // What a name means inside our network is not the caller's to learn: the refusal names the
    // host only, never the address it resolved to or the range that address is in.
    if (refusalFor(a.address, policy, target.port)) {
      throw new AddressRefusedError(`the host '${target.host}' resolves to an address webhooks may not reach (internal or reserved)`);
    }
  }
  const first = answers[0]!;
  return { url: target.url, address: first.address, family: first.family === 6 ? 6 : 4 };
}
