import type { ComponentChildren } from 'preact';
import { createContext } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError } from '../api.js';
import { utf8Bytes, when } from '../format.js';
import { useSession } from './ui.js';

/** One confirmed action: what it is, what it does, whether it takes a reason, and the call that makes it. */
export interface Decision {
  title: string;
  /** The confirm button's label: Approve, Reject, Replay… */
  verb: string;
  tone: 'go' | 'stop' | 'neutral';
  summary: ComponentChildren;
  reason: 'required' | 'optional' | 'none';
  /** Extra fields (e.g. a resolution's dates), rendered above the reason. */
  fields?: (values: Record<string, string>, set: (name: string, value: string) => void) => ComponentChildren;
  /** Whether the extra fields allow the call (the confirm button stays disabled until they do). */
  ready?: (values: Record<string, string>) => boolean;
  /** Makes the call; resolves to the message shown once it is done. */
  run: (reason: string | null, values: Record<string, string>) => Promise<string>;
  /** Called after the dialog closed, whatever the outcome (the page reloads what it shows). */
  after?: () => void;
}

export const Decide = createContext<(decision: Decision) => void>(() => undefined);

export function useDecide() {
  return useContext(Decide);
}

type Phase =
  | { kind: 'form' }
  | { kind: 'busy' }
  | { kind: 'error'; error: ApiError | Error }
  | { kind: 'conflict'; error: ApiError };

/**
 * The confirmation dialog every decision goes through (a native modal `<dialog>`: focus moves into it and stays,
 * Esc closes it). A reason is counted in bytes of UTF-8 as the Procurement API counts it; a 409 is shown as what it
 * almost always is: someone (a person, the policy, another tab) decided first.
 */
export function DecisionDialog(props: { decision: Decision; onClose: (message: string | null) => void }) {
  const { decision } = props;
  const { maxReasonBytes } = useSession();
  const ref = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState('');
  const [values, setValues] = useState<Record<string, string>>({});
  const [phase, setPhase] = useState<Phase>({ kind: 'form' });
  const result = useRef<string | null>(null);

  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);

  const bytes = utf8Bytes(reason.trim());
  const tooLong = bytes > maxReasonBytes;
  const missing = (decision.reason === 'required' && bytes === 0) || decision.ready?.(values) === false;
  const close = () => ref.current?.close();

  const submit = async (event: Event) => {
    event.preventDefault();
    if (tooLong || missing || phase.kind === 'busy') return;
    setPhase({ kind: 'busy' });
    try {
      result.current = await decision.run(decision.reason === 'none' || bytes === 0 ? null : reason.trim(), values);
      close();
    } catch (error) {
      if (error instanceof ApiError && error.conflict) setPhase({ kind: 'conflict', error });
      else setPhase({ kind: 'error', error: error as Error });
    }
  };

  const counterId = 'decision-reason-count';
  return (
    <dialog
      ref={ref}
      class={`decision ${decision.tone}`}
      aria-labelledby="decision-title"
      onClose={() => {
        props.onClose(result.current);
        decision.after?.();
      }}
    >
      {phase.kind === 'conflict' ? (
        <Conflict error={phase.error} onClose={close} />
      ) : (
        <form onSubmit={(e) => void submit(e)}>
          <h2 id="decision-title">{decision.title}</h2>
          <div class="summary">{decision.summary}</div>
          {decision.fields?.(values, (name, value) => setValues((v) => ({ ...v, [name]: value })))}
          {decision.reason !== 'none' ? (
            <div class="field">
              <label for="decision-reason">Reason {decision.reason === 'required' ? '(required)' : '(optional)'}</label>
              <textarea
                id="decision-reason"
                name="reason"
                rows={3}
                value={reason}
                required={decision.reason === 'required'}
                aria-invalid={tooLong}
                aria-describedby={counterId}
                onInput={(e) => setReason((e.target as HTMLTextAreaElement).value)}
              />
              <p id={counterId} class={tooLong ? 'counter over' : 'counter'} aria-live="polite">
                {bytes} / {maxReasonBytes} bytes
                {tooLong
                  ? ` — too long: the Procurement API keeps at most ${maxReasonBytes} bytes of UTF-8 and would cut the rest`
                  : ''}
              </p>
            </div>
          ) : null}
          {phase.kind === 'error' ? (
            <p class="note error" role="alert">
              {phase.error.message}
              {phase.error instanceof ApiError && phase.error.errorId ? ` (error id ${phase.error.errorId})` : ''}
            </p>
          ) : null}
          <div class="buttons">
            <button type="button" class="button" onClick={close}>
              Cancel
            </button>
            <button
              type="submit"
              class={`button primary ${decision.tone}`}
              disabled={tooLong || missing || phase.kind === 'busy'}
            >
              {phase.kind === 'busy' ? `${decision.verb}…` : decision.verb}
            </button>
          </div>
        </form>
      )}
    </dialog>
  );
}

function Conflict({ error, onClose }: { error: ApiError; onClose: () => void }) {
  const details = error.details ?? {};
  const procurement = details.procurement as { state?: string; plan?: string } | null | undefined;
  const decided = details.decision as { by?: string; actor?: string; completedAt?: string } | null | undefined;
  const stored = details.stored as { status?: string } | undefined;
  return (
    <div role="alert" class="conflict">
      <h2 id="decision-title">Someone else decided first</h2>
      <p>Nothing was changed by you. The service answered:</p>
      <blockquote>{error.message}</blockquote>
      <ul>
        {decided?.actor || decided?.by ? (
          <li>
            Decided by <strong>{decided.actor ?? decided.by}</strong>
            {decided.completedAt ? ` at ${when(decided.completedAt)}` : ''}
          </li>
        ) : null}
        {procurement?.state ? (
          <li>
            Google shows it as <strong>{procurement.state}</strong>
            {procurement.plan ? ` (plan ${procurement.plan})` : ''}
          </li>
        ) : null}
        {stored?.status ? (
          <li>
            Stored status: <strong>{stored.status}</strong>
          </li>
        ) : null}
      </ul>
      <div class="buttons">
        <button type="button" class="button primary" onClick={onClose} autoFocus>
          Close and refresh
        </button>
      </div>
    </div>
  );
}
