import { Get, Controller, Param, Query } from '@nestjs/common';
import { z } from 'zod';
import { AppError } from '../common/errors/app-error.js';
import { AdminStore } from '../admin/admin-store.js';
import { decodeCursor, idParam, pageBody, parseRequest } from '../admin/admin.schemas.js';
import { AdminRoute } from '../admin/auth/roles.js';
import { EntitlementUsage, UsageReporter } from './usage.openapi.js';
import { USAGE_DEFAULTS } from './usage.defaults.js';
import { UsageStore } from './usage-store.js';

const windowsQuery = z.strictObject({
  pageSize: z.coerce.number().int().min(1).max(200).default(USAGE_DEFAULTS.adminPageSize),
  cursor: z.string().min(1).max(2048).optional().meta({ description: 'Opaque; `nextCursor` of the previous page' }),
});

/** Usage reporting for the operations team: per entitlement and window, and the reporter's last run. */
@Controller('admin/v1/usage')
export class UsageAdminController {
  constructor(
    private readonly usage: UsageStore,
    private readonly admin: AdminStore,
  ) {}

  @Get('reporter')
  @AdminRoute({
    role: 'viewer',
    operationId: 'getUsageReporter',
    summary: "The usage reporter's last run: its figures and errors (all runs: GET /admin/v1/runs?job=usage)",
    tags: ['usage'],
    errors: [503],
    response: { status: 200, description: 'The last run, or null before the first', schema: UsageReporter },
  })
  async reporter() {
    const page = await this.admin.listRuns({ job: 'usage' }, { pageSize: 1 });
    const last = page?.items[0] ?? null;
    return { lastRun: last, errors: last ? ((last.report?.errors as unknown[] | undefined) ?? []) : [] };
  }

  @Get(':entitlementId')
  @AdminRoute({
    role: 'viewer',
    operationId: 'getUsage',
    summary: "One entitlement's usage: checkpoints, stop, pending records, and its windows newest first",
    description:
      'Window states: `collecting`, `pending`, `sending`, `reported`, `refused` (Google refused it or check stopped reporting: not billed), `uncertain` (its sender stopped during the report call: never resent; docs/usage-reporting.md).',
    tags: ['usage'],
    params: { entitlementId: 'The entitlement id (`gcp:<ENTITLEMENT_ID>`)' },
    query: windowsQuery,
    response: { status: 200, description: 'The usage and one page of windows', schema: EntitlementUsage },
    errors: [400, 404, 503],
  })
  async entitlement(@Param('entitlementId') entitlementId: string, @Query() query: unknown) {
    const id = idParam('entitlementId', entitlementId);
    const q = parseRequest(windowsQuery, query);
    const usage = await this.usage.getUsage(id);
    if (!usage) throw new AppError('not_found', `No usage reported for ${id}`);
    const [windows, pendingRecords] = await Promise.all([
      this.usage.listWindows(id, q.pageSize, decodeCursor(q.cursor) ?? null),
      this.usage.countPendingRecords(id),
    ]);
    return { usage, pendingRecords, windows: pageBody(windows) };
  }
}
