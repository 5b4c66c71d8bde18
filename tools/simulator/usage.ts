/**
 * The product backend's side of usage reporting in the sandbox: `usage` sends one record to the service's
 * `POST /usage/v1/records` (as a backend would), `reportedUsage` lists what the fake Service Control received.
 */
import { randomUUID } from 'node:crypto';

export interface UsageTarget {
  serviceUrl: string;
  usageKey: string;
}

export async function sendUsage(
  target: UsageTarget,
  record: { entitlementId: string; metric: string; value: number; id?: string; time?: string },
): Promise<{ status: number; body: unknown }> {
  const entitlementId = record.entitlementId.startsWith('gcp:') ? record.entitlementId : `gcp:${record.entitlementId}`;
  const res = await fetch(`${target.serviceUrl}/usage/v1/records`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${target.usageKey}` },
    body: JSON.stringify({
      records: [
        {
          entitlementId,
          id: record.id ?? randomUUID(),
          metric: record.metric,
          value: record.value,
          ...(record.time ? { time: record.time } : {}),
        },
      ],
    }),
  });
  return { status: res.status, body: await res.json() };
}

export interface ReceivedOperation {
  method: 'check' | 'report';
  serviceName: string;
  operation: {
    operationId?: string;
    consumerId?: string;
    startTime?: string;
    endTime?: string;
    metricValueSets?: { metricName: string; metricValues: { int64Value?: string; doubleValue?: number }[] }[];
  };
  status: number;
  errors: unknown[];
}

/** One line per report the fake received: window, metric, value, consumer, and whether it was accepted. */
export async function reportedUsage(serviceControlUrl: string, consumerId?: string): Promise<string[]> {
  const res = await fetch(`${serviceControlUrl}/__control/operations`);
  if (!res.ok) throw new Error(`fake Service Control: HTTP ${res.status}`);
  const { received } = (await res.json()) as { received: ReceivedOperation[] };
  return received
    .filter((r) => r.method === 'report' && (!consumerId || r.operation.consumerId === consumerId))
    .flatMap((r) =>
      (r.operation.metricValueSets ?? []).map((set) => {
        const v = set.metricValues[0];
        const value = v?.int64Value ?? v?.doubleValue ?? '?';
        const outcome = r.status === 200 && r.errors.length === 0 ? 'accepted' : `refused (${r.status})`;
        return `${r.operation.startTime} → ${r.operation.endTime}  ${set.metricName} = ${value}  consumer ${r.operation.consumerId}  op ${r.operation.operationId}  ${outcome}`;
      }),
    );
}
