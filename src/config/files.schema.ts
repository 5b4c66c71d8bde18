import { z } from 'zod';
import { SOURCES } from '../entitlements/entitlement.js';
import { usageProblems, usageSchema } from './usage.schema.js';

const name = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'use lowercase letters, digits, . _ -');

const productMapping = z.strictObject({
  /** The product's own name for this provider product. */
  product: name,
  /** Provider plan code → the product's plan name. When present, unknown plans are refused. */
  plans: z.record(z.string().min(1), name).optional(),
  /** Marketplace usage-based pricing: the metrics reported to Service Control (docs/usage-reporting.md). */
  usage: usageSchema.optional(),
});

/** `config/products.yaml`: provider product codes per source → the product's own names. */
export const productsFileSchema = z
  .strictObject({
    sources: z.partialRecord(z.enum(SOURCES), z.record(z.string().min(1), productMapping)),
  })
  .superRefine((file, ctx) => {
    for (const [source, products] of Object.entries(file.sources)) {
      for (const [code, mapping] of Object.entries(products ?? {})) {
        for (const problem of usageProblems(source, mapping)) {
          ctx.addIssue({
            code: 'custom',
            path: ['sources', source, code, 'usage', ...problem.path],
            message: problem.message,
          });
        }
      }
    }
  });
export type ProductsFile = z.infer<typeof productsFileSchema>;

const approvalMode = z.enum(['auto', 'manual']);
const approvalRule = z.strictObject({ entitlement: approvalMode, planChange: approvalMode });
const partialRule = approvalRule.partial();

/** Shown to the buyer on the Marketplace page (entitlements.patch messageToUser); the API documents no limit. */
const buyerText = z.string().trim().min(1).max(1000);
const buyerTexts = z.strictObject({ entitlement: buyerText.optional(), planChange: buyerText.optional() });

/** `config/policy.yaml`: approval and lifecycle policies. */
export const policyFileSchema = z.strictObject({
  marketplace: z.strictObject({
    approvals: z.strictObject({
      default: approvalRule,
      /** Per product (the product's own name), optionally per plan; the most specific rule wins. */
      products: z
        .record(
          name,
          z.strictObject({ default: partialRule.optional(), plans: z.record(name, partialRule).optional() }),
        )
        .default({}),
      /** A plan change to a plan config/products.yaml cannot map is never approved: left to an admin, or rejected. */
      unmappedPlanChange: z.enum(['admin', 'reject']).default('admin'),
      /**
       * How long a purchase or plan change may wait for an admin before the hourly check says it is
       * overdue ("decision overdue", the "Decisions overdue" alert): the seller's promise to buyers.
       */
      decideWithinHours: z
        .number()
        .int()
        .min(1)
        .max(24 * 90)
        .default(24),
    }),
    /** While an order or a plan change waits for an admin, the buyer sees this (per product, else the default). */
    messageToUser: z
      .strictObject({ default: buyerTexts.optional(), products: z.record(name, buyerTexts).default({}) })
      .default({ products: {} }),
    /** The seller's own Marketplace accounts (test purchases): an admin may reset them (accounts.reset). */
    testAccounts: z.array(z.string().min(1).max(256)).default([]),
    signup: z
      .strictObject({
        /** Approve the account's signup as soon as a verified sign-up token arrives (no sign-up step of your own). */
        approveOnVerifiedToken: z.boolean().default(false),
      })
      .default({ approveOnVerifiedToken: false }),
  }),
  webhooks: z
    .strictObject({
      purchasely: z
        .strictObject({ sandbox: z.enum(['ignore', 'apply']).default('ignore') })
        .default({ sandbox: 'ignore' }),
      timestampToleranceSeconds: z.number().int().min(30).max(3600).default(300),
    })
    .default({ purchasely: { sandbox: 'ignore' }, timestampToleranceSeconds: 300 }),
  lifecycle: z
    .strictObject({
      /** Hours past `validUntil` before the expiry sweep ends access, per source. */
      graceHours: z
        .partialRecord(
          z.enum(SOURCES),
          z
            .number()
            .min(0)
            .max(24 * 90),
        )
        .default({}),
      expiringLeadDays: z.number().min(0).max(60).default(3),
    })
    .default({ graceHours: {}, expiringLeadDays: 3 }),
});
export type PolicyFile = z.infer<typeof policyFileSchema>;
