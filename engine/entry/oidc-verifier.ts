// Data flow: Authorization header → OidcVerifier.verify → signature, issuer, audience, expiry (google-auth-library) → email check → allow | 401 | 403.
import { OAuth2Client, type Certificates } from 'google-auth-library';

/** Issuers of Google-signed OIDC tokens (Pub/Sub push, Cloud Scheduler). */
export const GOOGLE_ISSUERS = ['accounts.google.com', 'https://accounts.google.com'];

/** What a request must prove. */
export interface OidcVerifierOptions {
  /** Required `aud`: the push endpoint / function URL the token was minted for. */
  readonly audience: string;
  /** When set, the token's verified `email` must be one of these service accounts (the invokers allowed to call). */
  readonly emails?: readonly string[] | undefined;
  /** Signing certificates by key id; default Google's, fetched and cached by google-auth-library. */
  readonly certs?: () => Promise<Certificates>;
}

/** The verdict on one request. `reason` never contains the token. */
export type OidcVerdict =
  { readonly ok: true; readonly email: string | undefined } | { readonly ok: false; readonly status: 401 | 403; readonly reason: string };

/**
 * Checks the bearer token Pub/Sub push and Cloud Scheduler attach: a valid signature from the
 * certificates, an accepted issuer, the configured audience, not expired, and (when configured) a
 * verified `email` among the invoker service accounts. A missing or invalid token is 401; a valid
 * token from someone else is 403.
 */
export class OidcVerifier {
  private readonly client = new OAuth2Client();
  private readonly certs: () => Promise<Certificates>;

  constructor(private readonly options: OidcVerifierOptions) {
    this.certs = options.certs ?? (async () => (await this.client.getFederatedSignonCertsAsync()).certs);
  }

  async verify(authorization: string | undefined): Promise<OidcVerdict> {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization?.trim() ?? '');
    const token = match?.[1];
    if (token === undefined) return { ok: false, status: 401, reason: 'missing bearer token' };
    // Not being able to fetch the certificates is our failure, not the caller's: it propagates (500, retried).
    const certs = await this.certs();
    let payload;
    try {
      const ticket = await this.client.verifySignedJwtWithCertsAsync(token, certs, this.options.audience, GOOGLE_ISSUERS);
      payload = ticket.getPayload();
    } catch (error) {
      return { ok: false, status: 401, reason: `invalid token: ${describeFailure(error, token)}` };
    }
    const email = payload?.email;
    const allowed = this.options.emails;
    if (allowed === undefined) return { ok: true, email };
    if (email === undefined || !allowed.includes(email)) {
      return {
        ok: false,
        status: 403,
        reason: `token email ${email ?? '(none)'} is not ${allowed.length === 1 ? allowed[0] : `one of ${allowed.join(', ')}`}`,
      };
    }
    if (payload?.email_verified !== true) return { ok: false, status: 403, reason: `token email ${email} is not verified` };
    return { ok: true, email };
  }
}

/** A short cause; google-auth-library puts the whole token (and payload) in some messages, which must never reach a log. */
function describeFailure(error: unknown, token: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const known: [RegExp, string][] = [
    [/^Wrong number of segments/, 'malformed token'],
    [/^Can't parse token/, 'malformed token'],
    [/^No pem found/, 'unknown signing key'],
    [/^Invalid token signature/, 'bad signature'],
    [/^No issue time|^iat field/, 'no valid issue time'],
    [/^No expiration time|^exp field/, 'no valid expiry'],
    [/^Expiration time too far/, 'expiry too far in the future'],
    [/^Token used too early/, 'not valid yet'],
    [/^Token used too late/, 'expired'],
    [/^Invalid issuer/, 'wrong issuer'],
    [/^Wrong recipient/, 'wrong audience'],
  ];
  const found = known.find(([pattern]) => pattern.test(message));
  if (found) return found[1];
  // Unknown failures keep their text, minus anything token-shaped.
  return message
    .split(token)
    .join('<token>')
    .replace(/[\w-]{20,}\.[\w-]{20,}\.[\w-]+/g, '<token>');
}
