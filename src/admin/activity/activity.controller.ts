import { Controller, Get, Query } from '@nestjs/common';
import { eventStatsQuery, parseRequest, runsQuery } from '../admin.schemas.js';
import { AdminViews } from '../admin-views.service.js';
import { AdminRoute } from '../auth/roles.js';
import { EventCounts, RunPage } from '../openapi/responses.js';

/** What the service did lately: inbound events counted per source and outcome, and the lifecycle runs. */
@Controller('admin/v1')
export class ActivityController {
  constructor(private readonly views: AdminViews) {}

  @Get('event-counts')
  @AdminRoute({
    role: 'viewer',
    operationId: 'countEvents',
    summary: 'Inbound events of the last hours, counted per source and outcome',
    description:
      'One Firestore count per source and outcome over `receivedAt` (index `events (source, outcome, receivedAt)`); every pair is listed, zeros included.',
    tags: ['activity'],
    query: eventStatsQuery,
    errors: [503],
    response: { status: 200, description: 'The counts', schema: EventCounts },
  })
  eventCounts(@Query() query: unknown) {
    return this.views.eventStats(parseRequest(eventStatsQuery, query));
  }

  @Get('runs')
  @AdminRoute({
    role: 'viewer',
    operationId: 'listRuns',
    summary: 'Lifecycle runs (expiry sweep, expiring notices, reconciliation), newest first, with their figures',
    description:
      'One record per run whatever came of it (`ok: false` with the error when it could not proceed); kept 30 days (docs/lifecycle.md).',
    tags: ['activity'],
    query: runsQuery,
    errors: [503],
    response: { status: 200, description: 'One page, newest first', schema: RunPage },
  })
  runs(@Query() query: unknown) {
    return this.views.runs(parseRequest(runsQuery, query));
  }
}
