import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { eventsQuery, idParam, parseRequest } from '../admin.schemas.js';
import { AdminViews } from '../admin-views.service.js';
import { CurrentPrincipal } from '../auth/admin-auth.guard.js';
import { AdminRoute, type Principal } from '../auth/roles.js';
import { ref } from '../openapi/schemas.js';
import { EventReplay } from './event-replay.service.js';

const ID = { eventId: 'Event id as listed (`{source}:{eventKey}`, hashed when unsafe)' };

@Controller('admin/v1/events')
export class EventsController {
  constructor(
    private readonly views: AdminViews,
    private readonly replays: EventReplay,
  ) {}

  @Get()
  @AdminRoute({
    role: 'viewer',
    operationId: 'listEvents',
    summary: 'Inbound events by outcome (invalid, failed, stale, …), without their raw payloads',
    tags: ['events'],
    query: eventsQuery,
    response: { status: 200, description: 'One page, in id order', schema: ref('EventPage') },
  })
  list(@Query() query: unknown) {
    return this.views.events(parseRequest(eventsQuery, query));
  }

  @Get(':eventId')
  @AdminRoute({
    role: 'viewer',
    operationId: 'getEvent',
    summary: 'One inbound event with its raw payload',
    tags: ['events'],
    params: ID,
    errors: [404],
    response: { status: 200, description: 'The event', schema: ref('Event') },
  })
  get(@Param('eventId') eventId: string) {
    return this.views.event(idParam('eventId', eventId));
  }

  @Post(':eventId/replay')
  @HttpCode(200)
  @AdminRoute({
    role: 'approver',
    operationId: 'replayEvent',
    summary: 'Run an invalid or failed event again through the path it first took',
    description:
      'Idempotent: once the event is applied (or otherwise final), a replay answers 409 with its outcome. Marketplace (gcp) events only for now; webhook events answer 409.',
    tags: ['events'],
    params: ID,
    errors: [404, 409],
    response: { status: 200, description: 'What the replay came to', schema: ref('ReplayResult') },
  })
  replay(@CurrentPrincipal() principal: Principal, @Param('eventId') eventId: string) {
    return this.replays.replay(principal, idParam('eventId', eventId));
  }
}
