import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';

/** A locally generated RSA key standing in for Google's token signer. */
export interface TestSigner {
  readonly kid: string;
  /** Certificates by key id, as `OidcVerifier` takes them. */
  readonly certs: () => Promise<Record<string, string>>;
  /** An RS256 JWT with the given claims (defaults: Google issuer, issued now, valid one hour). */
  token(claims?: Record<string, unknown>): string;
}

/** Creates a signer; `kid` names its key in the certificates. */
export function createTestSigner(kid = 'test-key-1'): TestSigner {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return {
    kid,
    certs: () => Promise.resolve({ [kid]: pem }),
    token: (claims = {}) => signJwt(privateKey, kid, claims),
  };
}

function signJwt(key: KeyObject, kid: string, claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'RS256', typ: 'JWT', kid };
  const payload = { iss: 'https://accounts.google.com', iat: now, exp: now + 3600, sub: '1234567890', ...claims };
  const encode = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signed = `${encode(header)}.${encode(payload)}`;
  return `${signed}.${sign('RSA-SHA256', Buffer.from(signed), key).toString('base64url')}`;
}
