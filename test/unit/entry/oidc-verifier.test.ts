import { describe, expect, it } from 'vitest';
import { OidcVerifier } from '../../../engine/entry/oidc-verifier.ts';
import { createTestSigner } from './oidc-test-keys.ts';

const AUDIENCE = 'https://phase4-complete-abc.a.run.app';
const INVOKER = 'pubsub-invoker@demo.iam.gserviceaccount.com';
const signer = createTestSigner();
const other = createTestSigner(signer.kid);
const now = Math.floor(Date.now() / 1000);
const good = { aud: AUDIENCE, email: INVOKER, email_verified: true };

describe('OidcVerifier', () => {
  const verifier = new OidcVerifier({ audience: AUDIENCE, emails: [INVOKER], certs: signer.certs });

  it('accepts a token signed by the key, for the audience, from the invoker', async () => {
    expect(await verifier.verify(`Bearer ${signer.token(good)}`)).toEqual({ ok: true, email: INVOKER });
  });

  it('accepts the bare issuer form accounts.google.com too', async () => {
    expect((await verifier.verify(`Bearer ${signer.token({ ...good, iss: 'accounts.google.com' })}`)).ok).toBe(true);
  });

  it.each([
    ['a missing header', undefined, 'missing bearer token'],
    ['a non-bearer scheme', 'Basic dXNlcjpwYXNz', 'missing bearer token'],
    ['a malformed token', 'Bearer not-a-jwt', 'invalid token: malformed token'],
    ['the wrong audience', `Bearer ${signer.token({ ...good, aud: 'https://elsewhere.a.run.app' })}`, 'invalid token: wrong audience'],
    ['an expired token', `Bearer ${signer.token({ ...good, iat: now - 7200, exp: now - 3600 })}`, 'invalid token: expired'],
    ['another issuer', `Bearer ${signer.token({ ...good, iss: 'https://evil.example' })}`, 'invalid token: wrong issuer'],
    ['a token signed by another key with the same kid', `Bearer ${other.token(good)}`, 'invalid token: bad signature'],
    ['an unknown key id', `Bearer ${createTestSigner('other-kid').token(good)}`, 'invalid token: unknown signing key'],
  ])('rejects %s with 401', async (_name, header, reason) => {
    expect(await verifier.verify(header)).toEqual({ ok: false, status: 401, reason });
  });

  it('rejects a token whose payload was tampered with after signing (401)', async () => {
    const [head, , signature] = signer.token(good).split('.');
    const forged = Buffer.from(JSON.stringify({ ...good, iss: 'https://accounts.google.com', iat: now, exp: now + 600, email: 'attacker@x.com' })).toString(
      'base64url',
    );
    expect(await verifier.verify(`Bearer ${head}.${forged}.${signature}`)).toEqual({ ok: false, status: 401, reason: 'invalid token: bad signature' });
  });

  it('rejects a valid token from another service account with 403', async () => {
    const verdict = await verifier.verify(`Bearer ${signer.token({ ...good, email: 'someone@demo.iam.gserviceaccount.com' })}`);
    expect(verdict).toMatchObject({ ok: false, status: 403 });
  });

  it('rejects the right email when it is not verified with 403', async () => {
    expect(await verifier.verify(`Bearer ${signer.token({ ...good, email_verified: false })}`)).toMatchObject({ ok: false, status: 403 });
  });

  it('accepts any of several invokers (a component called by Pub/Sub push and by Cloud Scheduler as different accounts)', async () => {
    const both = new OidcVerifier({ audience: AUDIENCE, emails: ['scheduler@demo.iam.gserviceaccount.com', INVOKER], certs: signer.certs });
    expect(await both.verify(`Bearer ${signer.token(good)}`)).toEqual({ ok: true, email: INVOKER });
    const verdict = await both.verify(`Bearer ${signer.token({ ...good, email: 'x@demo.iam.gserviceaccount.com' })}`);
    expect(verdict).toMatchObject({ ok: false, status: 403, reason: expect.stringContaining('is not one of') as unknown });
  });

  it('accepts any email when no invoker is configured', async () => {
    const open = new OidcVerifier({ audience: AUDIENCE, certs: signer.certs });
    expect(await open.verify(`Bearer ${signer.token({ aud: AUDIENCE, email: 'any@x.com' })}`)).toEqual({ ok: true, email: 'any@x.com' });
  });

  it('never puts the token in a rejection reason', async () => {
    const token = signer.token({ ...good, aud: 'https://elsewhere' });
    const tampered = `${token.slice(0, -4)}AAAA`;
    for (const header of [`Bearer ${token}`, `Bearer ${tampered}`]) {
      const verdict = await verifier.verify(header);
      expect(JSON.stringify(verdict)).not.toContain(token.split('.')[1]);
    }
  });

  it('lets a failure to fetch the certificates propagate instead of calling the caller unauthenticated', async () => {
    const offline = new OidcVerifier({ audience: AUDIENCE, certs: () => Promise.reject(new Error('ENOTFOUND www.googleapis.com')) });
    await expect(offline.verify(`Bearer ${signer.token(good)}`)).rejects.toThrow(/ENOTFOUND/);
  });
});
