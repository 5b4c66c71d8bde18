import { Firestore } from '@google-cloud/firestore';
import { Global, Module, type OnApplicationShutdown } from '@nestjs/common';
import { AdminStore } from '../../admin/admin-store.js';
import { AppConfig } from '../../config/app-config.js';
import { EntitlementStore } from '../../entitlements/entitlement-store.js';
import { LifecycleStore } from '../../lifecycle/lifecycle-store.js';
import { MarketplaceStore } from '../../marketplace/marketplace-store.js';
import { RefusalStore } from '../../webhooks/common/refusal-store.js';
import { UsageStore } from '../../usage/usage-store.js';
import { FirestoreAdminStore } from './firestore-admin-store.js';
import { FirestoreEntitlementStore } from './firestore-entitlement-store.js';
import { FirestoreLifecycleStore } from './firestore-lifecycle-store.js';
import { FirestoreMarketplaceStore } from './firestore-marketplace-store.js';
import { FirestoreRefusalStore } from './firestore-refusal-store.js';
import { FirestoreUsageStore } from './firestore-usage-store.js';
import { createFirestore } from './firestore.provider.js';
import { TransactionRunner } from './transaction-runner.js';

@Global()
@Module({
  providers: [
    { provide: Firestore, useFactory: createFirestore, inject: [AppConfig] },
    TransactionRunner,
    { provide: EntitlementStore, useClass: FirestoreEntitlementStore },
    { provide: MarketplaceStore, useClass: FirestoreMarketplaceStore },
    { provide: AdminStore, useClass: FirestoreAdminStore },
    { provide: LifecycleStore, useClass: FirestoreLifecycleStore },
    { provide: RefusalStore, useClass: FirestoreRefusalStore },
    { provide: UsageStore, useClass: FirestoreUsageStore },
  ],
  exports: [
    Firestore,
    EntitlementStore,
    MarketplaceStore,
    AdminStore,
    LifecycleStore,
    RefusalStore,
    UsageStore,
    TransactionRunner,
  ],
})
export class FirestoreModule implements OnApplicationShutdown {
  constructor(
    private readonly db: Firestore,
    private readonly runner: TransactionRunner,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.runner.drain();
    await this.db.terminate();
  }
}
