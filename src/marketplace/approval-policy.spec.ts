import { describe, expect, it } from '@jest/globals';
import type { AppConfig } from '../config/app-config.js';
import { ApprovalPolicy } from './approval-policy.js';

const policy = new ApprovalPolicy({
  policy: {
    marketplace: {
      approvals: {
        default: { entitlement: 'auto', planChange: 'auto' },
        products: {
          demo: { default: { planChange: 'manual' }, plans: { enterprise: { entitlement: 'manual' } } },
        },
      },
      signup: { approveOnVerifiedToken: false },
    },
  },
} as unknown as AppConfig);

describe('ApprovalPolicy', () => {
  it('should take the most specific rule: plan, then product default, then global default', () => {
    expect(policy.forEntitlement('demo', 'enterprise')).toBe('manual');
    expect(policy.forEntitlement('demo', 'pro')).toBe('auto');
    expect(policy.forPlanChange('demo', 'pro')).toBe('manual');
    expect(policy.forPlanChange('other', 'pro')).toBe('auto');
    expect(policy.forEntitlement('demo', null)).toBe('auto');
  });
});
