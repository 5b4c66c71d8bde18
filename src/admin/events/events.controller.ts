import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { eventsQuery, idParam, parseRequest, resolveBody } from '../admin.schemas.js';
import { AdminViews } from '../admin-views.service.js';
import { CurrentPrincipal } from '../auth/admin-auth.guard.js';
import { AdminRoute, type Principal } from '../auth/roles.js';
import { Event, EventPage, ReplayResult, ResolveResult } from '../openapi/responses.js';
import { EventReplay } from './event-replay.service.js';
import { EventResolution } from './event-resolution.service.js';

const ID = { eventId: 'Event id as listed (`{source}:{eventKey}`, hashed when unsafe)' };

@Controller('admin/v1/events')
export class EventsController {
  constructor(
    private readonly views: AdminViews,
    private readonly replays: EventReplay,
    private readonly resolutions: EventResolution,
  ) {}

  @Get()
  @AdminRoute({
    role: 'viewer',
    operationId: 'listEvents',
    summary: 'Inbound events by outcome (invalid, failed, stale, …), without their raw payloads',
    tags: ['events'],
    query: eventsQuery,
    errors: [503],
    response: { status: 200, description: 'One page, in id order', schema: EventPage },
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
    errors: [404, 503],
    response: { status: 200, description: 'The event', schema: Event },
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
    errors: [404, 409, 503],
    response: { status: 200, description: 'What the replay came to', schema: ReplayResult },
  })
  replay(@CurrentPrincipal() principal: Principal, @Param('eventId') eventId: string) {
    return this.replays.replay(principal, idParam('eventId', eventId));
  }

  @Post(':eventId/resolve')
  @HttpCode(200)
  @AdminRoute({
    role: 'approver',
    operationId: 'resolveEvent',
    summary: 'Apply an event refused for an unusable start or end of access, with an explicit window',
    description:
      'For an `invalid` event whose `refusedFields` bound access (docs/input-rules.md: an unfilled GetCourse variable, an unparseable or out-of-range date): the explicit `validUntil` (or `open-ended`) and, for a refused start, `validFrom` stand in for the refused values, and the event goes through the path it first took into the ledger, under its recorded key. The record becomes final and carries `resolution {actor, reason, at, validUntil, validFrom}`; the history names the approver. Idempotent: a second resolution, or one for an event refused for other fields, answers 409.',
    tags: ['events'],
    params: ID,
    body: resolveBody,
    errors: [400, 404, 409, 503],
    response: { status: 200, description: 'What the resolution came to', schema: ResolveResult },
  })
  resolve(@CurrentPrincipal() principal: Principal, @Param('eventId') eventId: string, @Body() body: unknown) {
    const request = parseRequest(resolveBody, body);
    return this.resolutions.resolve(principal, idParam('eventId', eventId), request);
  }
}
