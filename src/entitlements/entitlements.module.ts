import { Global, Module } from '@nestjs/common';
import { Ledger } from './ledger.js';

@Global()
@Module({ providers: [Ledger], exports: [Ledger] })
export class EntitlementsModule {}
