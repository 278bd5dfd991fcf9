import { reasonOf } from '../runtime/errors.ts';
import type { LogEntry } from './cloud-logger.ts';
import type { OidcVerdict } from './oidc-verifier.ts';

/**
 * The one OIDC gate of every Baton HTTP entry point (barrier, coordinator, SDK processor): no verifier
 * lets the request through; a token that cannot be checked now is a 503 (the caller retries); a bad
 * token is 401, a good token of another account 403 — each with one log line. Undefined = allowed.
 */
export async function authorizeRequest<Response>(
  verifier: { verify(authorization: string | undefined): Promise<OidcVerdict> } | undefined,
  request: { readonly path: string; readonly headers: Readonly<Record<string, string | undefined>> },
  log: (entry: LogEntry) => void,
  respond: (status: number, body: Record<string, unknown>) => Response,
): Promise<Response | undefined> {
  if (verifier === undefined) return undefined;
  let verdict: OidcVerdict;
  try {
    verdict = await verifier.verify(request.headers.authorization);
  } catch (error) {
    log({ severity: 'ERROR', message: `cannot verify tokens: ${reasonOf(error)}`, baton_event: 'auth.unavailable' });
    return respond(503, { error: 'cannot verify the token now' });
  }
  if (verdict.ok) return undefined;
  log({ severity: 'WARNING', message: `rejected ${request.path}: ${verdict.reason}`, baton_event: 'auth.rejected', status: verdict.status });
  return respond(verdict.status, { error: verdict.status === 401 ? 'unauthenticated' : 'forbidden' });
}
