import { describe, expect, it } from '@jest/globals';
import { PassThroughClient } from 'google-auth-library';
import { emulatorAuth } from './emulator-auth.js';

describe('emulatorAuth', () => {
  it('should give the clients no credentials only when an emulator is configured', async () => {
    const { authClient } = emulatorAuth('127.0.0.1:8085');
    expect(authClient).toBeInstanceOf(PassThroughClient);
    expect([...(await authClient!.getRequestHeaders()).keys()]).toEqual([]);
  });

  it('should leave production on Application Default Credentials (no option at all)', () => {
    expect(emulatorAuth(undefined)).toEqual({});
  });
});
