import { api, path } from './api.js';
import type { Decision } from './components/decision.js';
import { useDecide } from './components/decision.js';
import { useCanDecide } from './components/ui.js';
import type { Account, Entitlement, InboundEvent } from './types.js';

/** The decisions the console offers, each one call to `/admin/v1`; used by the queue and the detail pages. */

export function approveEntitlement(e: Entitlement): Decision {
  return {
    title: `Approve ${e.id}?`,
    verb: 'Approve',
    tone: 'go',
    reason: 'optional',
    summary: (
      <p>
        The service asks Google to activate <strong>{e.product}</strong>
        {e.plan ? ` (${e.plan})` : ''} for account <code>{e.details.marketplace?.accountId ?? '?'}</code>. It becomes
        active when Google confirms (ENTITLEMENT_ACTIVE).
      </p>
    ),
    run: async (reason) => {
      await api('POST', `/entitlements/${path(e.id)}/approve`, reason ? { reason } : {});
      return `Approved ${e.id}; Google activates it next.`;
    },
  };
}

export function rejectEntitlement(e: Entitlement): Decision {
  return {
    title: `Reject ${e.id}?`,
    verb: 'Reject',
    tone: 'stop',
    reason: 'required',
    summary: (
      <p>
        The service asks Google to reject the purchase; Google then removes it, and it is kept here as rejected with
        your reason. This cannot be undone: the customer would have to buy again.
      </p>
    ),
    run: async (reason) => {
      await api('POST', `/entitlements/${path(e.id)}/reject`, { reason });
      return `Rejected ${e.id}.`;
    },
  };
}

export function approvePlanChange(e: Entitlement): Decision {
  const plan = e.pendingPlan?.providerPlan ?? '';
  return {
    title: `Approve the change of ${e.id} to ${plan}?`,
    verb: 'Approve change',
    tone: 'go',
    reason: 'optional',
    summary: (
      <p>
        From <strong>{e.plan ?? '—'}</strong> to <strong>{e.pendingPlan?.plan ?? plan}</strong>. Google applies it,
        often at the end of the billing cycle.
      </p>
    ),
    run: async (reason) => {
      await api('POST', `/entitlements/${path(e.id)}/plan-change/approve`, { plan, ...(reason ? { reason } : {}) });
      return `Approved the plan change of ${e.id} to ${plan}.`;
    },
  };
}

export function rejectPlanChange(e: Entitlement): Decision {
  const plan = e.pendingPlan?.providerPlan ?? '';
  return {
    title: `Reject the change of ${e.id} to ${plan}?`,
    verb: 'Reject change',
    tone: 'stop',
    reason: 'required',
    summary: <p>The entitlement stays on {e.plan ?? 'its plan'}; the reason goes to Google with the rejection.</p>,
    run: async (reason) => {
      await api('POST', `/entitlements/${path(e.id)}/plan-change/reject`, { plan, reason });
      return `Rejected the plan change of ${e.id}.`;
    },
  };
}

export function approveSignup(a: Pick<Account, 'accountId'>): Decision {
  return {
    title: `Approve the sign-up of ${a.accountId}?`,
    verb: 'Approve sign-up',
    tone: 'go',
    reason: 'optional',
    summary: (
      <p>
        Google marks the account's sign-up approved; purchases parked for it are then approved as the policy allows
        (manual plans keep waiting for an approver).
      </p>
    ),
    run: async (reason) => {
      const result = await api<{ entitlementsApproved?: number }>(
        'POST',
        `/accounts/${path(a.accountId)}/approve`,
        reason ? { reason } : {},
      );
      const n = result.entitlementsApproved ?? 0;
      return `Approved the sign-up of ${a.accountId}${n ? `; ${n} parked purchase(s) approved` : ''}.`;
    },
  };
}

export function rejectSignup(a: Pick<Account, 'accountId'>): Decision {
  return {
    title: `Reject the sign-up of ${a.accountId}?`,
    verb: 'Reject sign-up',
    tone: 'stop',
    reason: 'required',
    summary: <p>Google marks the sign-up rejected; it can be approved later.</p>,
    run: async (reason) => {
      await api('POST', `/accounts/${path(a.accountId)}/reject`, { reason });
      return `Rejected the sign-up of ${a.accountId}.`;
    },
  };
}

export function replayEvent(e: InboundEvent): Decision {
  return {
    title: `Replay ${e.id}?`,
    verb: 'Replay',
    tone: 'neutral',
    reason: 'none',
    summary: (
      <p>
        The event runs again through the path it first took ({e.source}, {e.eventType}). For Marketplace events the
        entitlement is read from Google again, so the replay acts on its current state. Replays are idempotent.
      </p>
    ),
    run: async () => {
      const result = await api<{ result: { outcome: string; reason?: string } }>(
        'POST',
        `/events/${path(e.id)}/replay`,
      );
      const { outcome, reason } = result.result;
      return `Replayed ${e.id}: ${outcome}${reason ? ` (${reason})` : ''}.`;
    },
  };
}

export function resetTestAccount(a: Pick<Account, 'accountId'>): Decision {
  return {
    title: `Reset the test account ${a.accountId}?`,
    verb: 'Reset account',
    tone: 'stop',
    reason: 'required',
    summary: (
      <p>
        Google cancels the account's entitlements and puts its sign-up back to pending, so the next purchase goes
        through sign-up and approval as a new customer's would. Only for the seller's own test accounts: Google refuses
        to reset a customer's.
      </p>
    ),
    fields: (values, set) => (
      <div class="field check">
        <input
          id="reset-test-account"
          type="checkbox"
          checked={values.testAccount === 'yes'}
          onChange={(ev) => set('testAccount', (ev.target as HTMLInputElement).checked ? 'yes' : '')}
        />
        <label for="reset-test-account">
          This is one of our own test accounts (not needed if config/policy.yaml lists it)
        </label>
      </div>
    ),
    run: async (reason, values) => {
      await api('POST', `/accounts/${path(a.accountId)}/reset`, {
        reason,
        ...(values.testAccount === 'yes' ? { testAccount: true } : {}),
      });
      return `Reset the test account ${a.accountId}.`;
    },
  };
}

/** Erases a person's data (docs/admin-api.md, "Erasure"): by e-mail, or by the subject key of an entitlement. */
export function eraseSubject(who: { email: string } | { subjectKey: string }): Decision {
  const name = 'email' in who ? who.email : who.subjectKey;
  return {
    title: `Erase the personal data of ${name}?`,
    verb: 'Erase',
    tone: 'stop',
    reason: 'required',
    summary: (
      <p>
        Every entitlement of this person becomes an anonymized tombstone (their access ends), their e-mail is removed
        from gifts they bought, and the raw payloads of events naming them are deleted. This cannot be undone.
      </p>
    ),
    fields: (values, set) => (
      <div class="field">
        <label for="erase-confirm">Type ERASE to confirm</label>
        <input
          id="erase-confirm"
          autoComplete="off"
          value={values.confirm ?? ''}
          onInput={(ev) => set('confirm', (ev.target as HTMLInputElement).value)}
        />
      </div>
    ),
    ready: (values) => values.confirm?.trim() === 'ERASE',
    run: async (reason) => {
      const result = await api<{ entitlements: unknown[]; eventsScrubbed?: number }>('POST', '/erasures', {
        ...who,
        reason,
      });
      return `Erased ${name}: ${result.entitlements.length} entitlement(s), ${result.eventsScrubbed ?? 0} event payload(s).`;
    },
  };
}

/** An event refused for an unusable start or end of access, applied with an explicit window (docs/input-rules.md). */
export function resolveEvent(e: InboundEvent): Decision {
  const needsStart = (e.refusedFields ?? []).some((f) => /start/i.test(f));
  return {
    title: `Resolve ${e.id}?`,
    verb: 'Apply with this window',
    tone: 'go',
    reason: 'required',
    summary: (
      <p>
        Refused for {(e.refusedFields ?? []).join(', ')}. The window below stands in for the refused values and the
        event is applied through the ledger under its own key.
      </p>
    ),
    fields: (values, set) => (
      <>
        <div class="field">
          <label for="resolve-until">Access ends (RFC 3339 with a zone, or open-ended)</label>
          <input
            id="resolve-until"
            required
            placeholder="2027-01-31T21:00:00Z"
            value={values.validUntil ?? ''}
            onInput={(ev) => set('validUntil', (ev.target as HTMLInputElement).value)}
          />
        </div>
        {needsStart ? (
          <div class="field">
            <label for="resolve-from">Access starts (RFC 3339 with a zone)</label>
            <input
              id="resolve-from"
              required
              value={values.validFrom ?? ''}
              onInput={(ev) => set('validFrom', (ev.target as HTMLInputElement).value)}
            />
          </div>
        ) : null}
      </>
    ),
    run: async (reason, values) => {
      const body = {
        validUntil: values.validUntil?.trim() ?? '',
        reason,
        ...(values.validFrom ? { validFrom: values.validFrom.trim() } : {}),
      };
      const result = await api<{ result: { outcome?: string } }>('POST', `/events/${path(e.id)}/resolve`, body);
      return `Resolved ${e.id}: ${result.result.outcome ?? 'applied'}.`;
    },
  };
}

/** Approve / Reject buttons for a pending entitlement or plan change: none at all for a viewer. */
export function EntitlementButtons({ e, after }: { e: Entitlement; after: () => void }) {
  const decide = useDecide();
  const canDecide = useCanDecide();
  if (!canDecide || !e.id.startsWith('gcp:')) return null;
  const stage = e.details.marketplace?.approval;
  const change = e.details.marketplace?.planChangeApproval;
  const go = (d: Decision) => decide({ ...d, after });
  if (e.status === 'pending_approval' && stage !== 'approval_requested') {
    return (
      <div class="row-actions">
        {stage === 'awaiting_account' ? null : (
          <button type="button" class="button go" onClick={() => go(approveEntitlement(e))}>
            Approve
          </button>
        )}
        <button type="button" class="button stop" onClick={() => go(rejectEntitlement(e))}>
          Reject
        </button>
      </div>
    );
  }
  if (e.status === 'pending_plan_change' && e.pendingPlan && change === 'awaiting_admin') {
    return (
      <div class="row-actions">
        <button type="button" class="button go" onClick={() => go(approvePlanChange(e))}>
          Approve change
        </button>
        <button type="button" class="button stop" onClick={() => go(rejectPlanChange(e))}>
          Reject change
        </button>
      </div>
    );
  }
  return null;
}

export function SignupButtons({ account, after }: { account: Account; after: () => void }) {
  const decide = useDecide();
  if (!useCanDecide() || account.signup.state !== 'PENDING') return null;
  return (
    <div class="row-actions">
      <button type="button" class="button go" onClick={() => decide({ ...approveSignup(account), after })}>
        Approve sign-up
      </button>
      <button type="button" class="button stop" onClick={() => decide({ ...rejectSignup(account), after })}>
        Reject sign-up
      </button>
    </div>
  );
}
