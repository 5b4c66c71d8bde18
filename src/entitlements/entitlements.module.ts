import { Global, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { Catalog } from './catalog.js';
import { Ledger } from './ledger.js';
import { DEVELOPMENT_SUBJECT_KEY_SECRET, SubjectKeys } from './subject.js';

/** SUBJECT_KEY_SECRET; a fixed development key outside production (config refuses production without it). */
function subjectKeys(config: AppConfig): SubjectKeys {
  const secret = config.env.SUBJECT_KEY_SECRET;
  if (secret) return new SubjectKeys(secret);
  return new SubjectKeys(config.env.NODE_ENV === 'production' ? undefined : DEVELOPMENT_SUBJECT_KEY_SECRET);
}

@Global()
@Module({
  providers: [Ledger, Catalog, { provide: SubjectKeys, useFactory: subjectKeys, inject: [AppConfig] }],
  exports: [Ledger, Catalog, SubjectKeys],
})
export class EntitlementsModule {}
