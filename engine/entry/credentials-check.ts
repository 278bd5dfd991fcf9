// Data flow: first request → credentialsCheck → GoogleAuth.getClient (once, until it succeeds) → ready | CredentialsUnavailableError → 503.
import { GoogleAuth } from 'google-auth-library';

/** The deployment cannot load Google credentials, so no Pub/Sub or Firestore call can succeed yet. */
export class CredentialsUnavailableError extends Error {
  readonly code = 'entry/credentials';
  // A metadata server that answers later, or a fixed service account, makes the next delivery work.
  readonly retryable = true;
}

/** Loads credentials; the default is Application Default Credentials. */
export interface CredentialSource {
  getClient(): Promise<unknown>;
}

/**
 * A check that credentials load, run before the first client call and remembered once it passes.
 *
 * Why it exists: when credentials cannot load, the Firestore client rejects the call it was given
 * *and* leaks further rejections from its own stub creation that nothing can catch, and Node ends the
 * process on an unhandled rejection — `serve` died on its first request. Checking credentials first,
 * and not touching the clients while they fail, keeps the instance up: the request is answered 503
 * with one structured error, and Pub/Sub retries it. Emulators need no credentials, so no check.
 */
export function credentialsCheck(
  env: Readonly<Record<string, string | undefined>>,
  source: CredentialSource = new GoogleAuth({ scopes: ['https://www.googleapis.com/auth/cloud-platform'] }),
): (() => Promise<void>) | undefined {
  if (env.PUBSUB_EMULATOR_HOST && env.FIRESTORE_EMULATOR_HOST) return undefined;
  let passed = false;
  let pending: Promise<void> | undefined;
  return () => {
    if (passed) return Promise.resolve();
    pending ??= source.getClient().then(
      () => {
        passed = true;
        pending = undefined;
      },
      (error: unknown) => {
        // Checked again on the next request, not cached: the cause may pass.
        pending = undefined;
        const cause = error instanceof Error ? error.message : String(error);
        throw new CredentialsUnavailableError(
          `cannot load Google credentials (${cause}); run as the component's service account on Google Cloud, or set GOOGLE_APPLICATION_CREDENTIALS (or the emulator hosts) locally`,
        );
      },
    );
    return pending;
  };
}
