import { describe, expect, it } from '@jest/globals';
import { hmacSha256Hex } from '../../common/security/hmac.js';
import { verifyEasyCartRequest, type EasyCartCredentials, type EasyCartProof } from './easycart.signature.js';

const OLD_KEY = 'old-signing-key-0123456789';
const NEW_KEY = 'new-signing-key-9876543210';
const TOKEN = 'url-token-abcdefghijklmnopqrstuvwxyz';

// Pretty-printed and with escaped non-ASCII, as older EasyCart payloads were: the bytes differ
// from EasyCart's own `JSON.stringify(req.body)`, which is what its example signs.
const RAW =
  '{\n  "event": "product_assigned",\n  "product_name": "Ahoy! Spo\\u0142eczno\\u015b\\u0107",\n  "url": "https:\\/\\/x"\n}';
const COMPACT = JSON.stringify(JSON.parse(RAW));

function proof(overrides: Partial<EasyCartProof> = {}): EasyCartProof {
  return {
    signature: undefined,
    pathToken: undefined,
    rawBody: Buffer.from(RAW),
    compactBody: COMPACT,
    ...overrides,
  };
}

const signed: EasyCartCredentials = {
  signingKeys: [OLD_KEY, NEW_KEY],
  urlToken: undefined,
};
const tokenOnly: EasyCartCredentials = { signingKeys: [], urlToken: TOKEN };

describe('verifyEasyCartRequest', () => {
  it('should accept a signature over the raw bytes', () => {
    expect(verifyEasyCartRequest(signed, proof({ signature: hmacSha256Hex(NEW_KEY, RAW) }))).toEqual({
      ok: true,
      by: 'signature',
    });
  });

  it('should accept a signature over the compact re-serialization when the raw bytes differ from it', () => {
    expect(COMPACT).not.toBe(RAW);
    expect(COMPACT).toContain('Społeczność');
    expect(verifyEasyCartRequest(signed, proof({ signature: hmacSha256Hex(NEW_KEY, COMPACT) }))).toEqual({
      ok: true,
      by: 'compact-signature',
    });
  });

  it('should accept either rotation key and refuse a key that is not configured', () => {
    expect(verifyEasyCartRequest(signed, proof({ signature: hmacSha256Hex(OLD_KEY, RAW) })).ok).toBe(true);
    expect(verifyEasyCartRequest(signed, proof({ signature: hmacSha256Hex(NEW_KEY, RAW) })).ok).toBe(true);
    expect(verifyEasyCartRequest(signed, proof({ signature: hmacSha256Hex('another-key-0123456789', RAW) }))).toEqual({
      ok: false,
      problem: 'bad_signature',
    });
  });

  it('should refuse a signature of a different body, a missing signature and non-hex garbage', () => {
    const other = hmacSha256Hex(NEW_KEY, RAW.replace('product_assigned', 'product_access_expired'));
    expect(verifyEasyCartRequest(signed, proof({ signature: other }))).toEqual({
      ok: false,
      problem: 'bad_signature',
    });
    expect(verifyEasyCartRequest(signed, proof())).toEqual({
      ok: false,
      problem: 'missing_signature',
    });
    expect(verifyEasyCartRequest(signed, proof({ signature: '  ' }))).toEqual({
      ok: false,
      problem: 'missing_signature',
    });
    expect(verifyEasyCartRequest(signed, proof({ signature: 'not-hex' }))).toEqual({
      ok: false,
      problem: 'bad_signature',
    });
  });

  it('should not fall back to the compact form when the body did not parse', () => {
    const signature = hmacSha256Hex(NEW_KEY, COMPACT);
    expect(verifyEasyCartRequest(signed, proof({ signature, compactBody: undefined })).ok).toBe(false);
  });

  it('should accept an upper-case or sha256=-prefixed signature', () => {
    const hex = hmacSha256Hex(OLD_KEY, RAW);
    expect(verifyEasyCartRequest(signed, proof({ signature: hex.toUpperCase() })).ok).toBe(true);
    expect(verifyEasyCartRequest(signed, proof({ signature: `sha256=${hex}` })).ok).toBe(true);
  });

  it('should require the URL token when no signing key is configured, ignoring any signature', () => {
    expect(verifyEasyCartRequest(tokenOnly, proof({ pathToken: TOKEN }))).toEqual({ ok: true, by: 'url-token' });
    expect(verifyEasyCartRequest(tokenOnly, proof({ pathToken: `${TOKEN}x` }))).toEqual({
      ok: false,
      problem: 'bad_token',
    });
    expect(verifyEasyCartRequest(tokenOnly, proof({ pathToken: '' }))).toEqual({
      ok: false,
      problem: 'bad_token',
    });
    expect(verifyEasyCartRequest(tokenOnly, proof({ signature: hmacSha256Hex(NEW_KEY, RAW) }))).toEqual({
      ok: false,
      problem: 'missing_token',
    });
  });

  it('should refuse a wrong path token even when the signature is valid', () => {
    const signature = hmacSha256Hex(NEW_KEY, RAW);
    expect(verifyEasyCartRequest(signed, proof({ signature, pathToken: 'whatever' }))).toEqual({
      ok: false,
      problem: 'bad_token',
    });
    const both: EasyCartCredentials = {
      signingKeys: [NEW_KEY],
      urlToken: TOKEN,
    };
    expect(verifyEasyCartRequest(both, proof({ signature, pathToken: TOKEN })).ok).toBe(true);
    expect(verifyEasyCartRequest(both, proof({ pathToken: TOKEN }))).toEqual({
      ok: false,
      problem: 'missing_signature',
    });
  });

  it('should refuse everything when neither a key nor a token is configured', () => {
    const none: EasyCartCredentials = { signingKeys: [], urlToken: undefined };
    expect(verifyEasyCartRequest(none, proof())).toEqual({
      ok: false,
      problem: 'not_configured',
    });
    expect(verifyEasyCartRequest(none, proof({ pathToken: TOKEN, signature: hmacSha256Hex(NEW_KEY, RAW) }))).toEqual({
      ok: false,
      problem: 'not_configured',
    });
  });
});

describe('verifyEasyCartRequest: the sha256= prefix', () => {
  it('should strip the prefix only at the start of the header', () => {
    const sig = hmacSha256Hex(NEW_KEY, RAW);
    expect(verifyEasyCartRequest(signed, proof({ signature: ` SHA256=${sig} ` }))).toEqual({
      ok: true,
      by: 'signature',
    });
    expect(verifyEasyCartRequest(signed, proof({ signature: `${sig.slice(0, 8)}sha256=${sig.slice(8)}` }))).toEqual({
      ok: false,
      problem: 'bad_signature',
    });
  });
});
