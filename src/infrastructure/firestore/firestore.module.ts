import { Firestore } from '@google-cloud/firestore';
import { Global, Module, type OnApplicationShutdown } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';
import { EntitlementStore } from '../../entitlements/entitlement-store.js';
import { FirestoreEntitlementStore } from './firestore-entitlement-store.js';
import { createFirestore } from './firestore.provider.js';

@Global()
@Module({
  providers: [
    { provide: Firestore, useFactory: createFirestore, inject: [AppConfig] },
    { provide: EntitlementStore, useClass: FirestoreEntitlementStore },
  ],
  exports: [Firestore, EntitlementStore],
})
export class FirestoreModule implements OnApplicationShutdown {
  constructor(
    private readonly db: Firestore,
    private readonly store: EntitlementStore,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.store instanceof FirestoreEntitlementStore) await this.store.drain();
    await this.db.terminate();
  }
}
