import { PassThroughClient } from 'google-auth-library';

/**
 * Client options for a Google client library pointed at an emulator (FIRESTORE_EMULATOR_HOST,
 * PUBSUB_EMULATOR_HOST): an auth client that sends no credentials and looks none up. Without it the
 * library still resolves Application Default Credentials on its first call (the universe-domain
 * check in google-gax), which reads gcloud's credential files and asks the GCE metadata server; off
 * Google Cloud that prints `MetadataLookupWarning … ENOTFOUND` at every start. The emulators accept
 * any caller (the Firestore SDK adds its emulator `Bearer owner` header itself). With no emulator
 * configured this returns nothing, so production keeps Application Default Credentials.
 */
export function emulatorAuth(emulatorHost: string | undefined): { authClient?: PassThroughClient } {
  return emulatorHost ? { authClient: new PassThroughClient() } : {};
}
