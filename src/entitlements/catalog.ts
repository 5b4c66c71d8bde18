import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import type { ProductRef, Source } from './entitlement.js';

export type CatalogResult = { ok: true; ref: ProductRef } | { ok: false; reason: string };

/**
 * Provider product and plan codes → the product's own names (`config/products.yaml`).
 * An unknown code is not an error of the sender: the event is recorded `invalid` and can be
 * replayed once the mapping is added.
 */
@Injectable()
export class Catalog {
  constructor(private readonly config: AppConfig) {}

  resolve(source: Source, providerProduct: string, providerPlan: string | null): CatalogResult {
    const mapping = this.config.products.sources[source]?.[providerProduct];
    if (!mapping) {
      return { ok: false, reason: `unknown ${source} product "${providerProduct}": add it to config/products.yaml` };
    }
    let plan = providerPlan;
    if (providerPlan !== null && mapping.plans) {
      const mapped = mapping.plans[providerPlan];
      if (!mapped) {
        return {
          ok: false,
          reason: `unknown plan "${providerPlan}" of ${source} product "${providerProduct}": add it to config/products.yaml`,
        };
      }
      plan = mapped;
    }
    return { ok: true, ref: { product: mapping.product, plan, providerProduct, providerPlan } };
  }
}
