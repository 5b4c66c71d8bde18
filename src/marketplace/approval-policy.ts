import { Injectable } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';

export type ApprovalMode = 'auto' | 'manual';

/** A plan change to a plan config/products.yaml cannot map: `admin` leaves it to an admin, `reject` rejects it. */
export type UnmappedPlanChange = 'admin' | 'reject';

/** What the buyer is told while an order (`entitlement`) or a plan change (`planChange`) waits for an admin. */
export type WaitingFor = 'entitlement' | 'planChange';

/**
 * `config/policy.yaml` → marketplace.approvals: per product (the product's own name) and plan,
 * whether the service approves by itself or waits for an admin. The most specific rule wins:
 * plan, then the product's default, then the global default.
 */
@Injectable()
export class ApprovalPolicy {
  constructor(private readonly config: AppConfig) {}

  forEntitlement(product: string, plan: string | null): ApprovalMode {
    return this.pick(product, plan, 'entitlement');
  }

  /** For a plan change, the rule of the plan being switched to. */
  forPlanChange(product: string, newPlan: string | null): ApprovalMode {
    return this.pick(product, newPlan, 'planChange');
  }

  get unmappedPlanChange(): UnmappedPlanChange {
    return this.config.policy.marketplace.approvals.unmappedPlanChange;
  }

  /** `marketplace.messageToUser`: the product's text, else the default; `null` when none is configured. */
  messageToUser(product: string, waitingFor: WaitingFor): string | null {
    const messages = this.config.policy.marketplace.messageToUser;
    return messages.products[product]?.[waitingFor] ?? messages.default?.[waitingFor] ?? null;
  }

  /** `marketplace.testAccounts`: the seller's own accounts, which an admin may reset (accounts.reset). */
  isTestAccount(accountId: string): boolean {
    return this.config.policy.marketplace.testAccounts.includes(accountId);
  }

  get approveAccountOnVerifiedToken(): boolean {
    return this.config.policy.marketplace.signup.approveOnVerifiedToken;
  }

  private pick(product: string, plan: string | null, what: 'entitlement' | 'planChange'): ApprovalMode {
    const approvals = this.config.policy.marketplace.approvals;
    const rules = approvals.products[product];
    return (
      (plan !== null ? rules?.plans?.[plan]?.[what] : undefined) ?? rules?.default?.[what] ?? approvals.default[what]
    );
  }
}
