import { Global, Module } from '@nestjs/common';
import { Catalog } from './catalog.js';
import { Ledger } from './ledger.js';

@Global()
@Module({ providers: [Ledger, Catalog], exports: [Ledger, Catalog] })
export class EntitlementsModule {}
