import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import type { UsageConfig } from '../config/usage.schema.js';
import type { ReportedMetric } from './usage-windows.js';

/** What an entitlement reports: its Service Control service, metrics and labels (config/products.yaml `usage:`). */
export interface UsagePlan {
  /** The Service Control service name: the Marketplace product's service (`<service>.<marketplace domain>`). */
  serviceName: string;
  metrics: Map<string, ReportedMetric>;
  userLabels: Record<string, string>;
}

/** Marketplace product and plan → the metrics reported for it; `null` when the plan reports none. */
@Injectable()
export class UsageCatalog {
  constructor(private readonly config: AppConfig) {}

  planFor(providerProduct: string, plan: string | null): UsagePlan | null {
    const usage = this.config.products.sources.gcp?.[providerProduct]?.usage;
    if (!usage || plan === null) return null;
    const names = usage.plans[plan];
    if (!names) return null;
    return { serviceName: providerProduct, metrics: metricsOf(usage, names), userLabels: { ...usage.userLabels } };
  }

  /** Whether any configured product reports usage (the reporter and the intake are pointless otherwise). */
  anyUsage(): boolean {
    return Object.values(this.config.products.sources.gcp ?? {}).some((m) => m.usage);
  }
}

function metricsOf(usage: UsageConfig, names: string[]): Map<string, ReportedMetric> {
  return new Map(
    names.map((metric) => {
      const m = usage.metrics[metric]!;
      return [metric, { metric, serviceControlName: m.serviceControlName, type: m.type }];
    }),
  );
}
