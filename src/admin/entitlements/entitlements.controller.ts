import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import {
  approveBody,
  entitlementsQuery,
  idParam,
  pageQuery,
  parseRequest,
  pendingQuery,
  planChangeApproveBody,
  planChangeRejectBody,
  rejectBody,
} from '../admin.schemas.js';
import { AdminViews } from '../admin-views.service.js';
import { CurrentPrincipal } from '../auth/admin-auth.guard.js';
import { AdminRoute, type Principal } from '../auth/roles.js';
import { EntitlementActionResult, EntitlementDetail, EntitlementPage, EventPage } from '../openapi/responses.js';
import { EntitlementActions } from './entitlement-actions.service.js';

const ID = { id: 'Entitlement id, `{source}:{externalId}` (e.g. `gcp:<ENTITLEMENT_ID>`)' };

@Controller('admin/v1')
export class EntitlementsController {
  constructor(
    private readonly views: AdminViews,
    private readonly actions: EntitlementActions,
  ) {}

  @Get('entitlements')
  @AdminRoute({
    role: 'viewer',
    operationId: 'listEntitlements',
    summary:
      "List entitlements, filtered by status, source, product, Marketplace account, or the subject's e-mail or user id",
    tags: ['entitlements'],
    query: entitlementsQuery,
    errors: [503],
    response: { status: 200, description: 'One page, in id order', schema: EntitlementPage },
  })
  list(@Query() query: unknown) {
    return this.views.listEntitlements(parseRequest(entitlementsQuery, query));
  }

  @Get('approvals')
  @AdminRoute({
    role: 'viewer',
    operationId: 'listPendingApprovals',
    summary: 'Entitlements waiting for activation approval',
    description:
      '`scope=admin` (default): those the policy leaves to an admin (`details.marketplace.approval = awaiting_admin`); `scope=all`: every pending approval, including those waiting for the account.',
    tags: ['entitlements'],
    query: pendingQuery,
    errors: [503],
    response: { status: 200, description: 'One page, in id order', schema: EntitlementPage },
  })
  approvals(@Query() query: unknown) {
    return this.views.pendingApprovals(parseRequest(pendingQuery, query));
  }

  @Get('plan-changes')
  @AdminRoute({
    role: 'viewer',
    operationId: 'listPendingPlanChanges',
    summary: 'Entitlements with a pending plan change',
    description:
      '`scope=admin` (default): changes waiting for an admin (`planChangeApproval = awaiting_admin`); `scope=all`: also approved changes waiting for the billing cycle to end.',
    tags: ['entitlements'],
    query: pendingQuery,
    errors: [503],
    response: { status: 200, description: 'One page, in id order', schema: EntitlementPage },
  })
  planChanges(@Query() query: unknown) {
    return this.views.pendingPlanChanges(parseRequest(pendingQuery, query));
  }

  @Get('entitlements/:id')
  @AdminRoute({
    role: 'viewer',
    operationId: 'getEntitlement',
    summary: 'One entitlement with its history (newest first) and its Marketplace account',
    tags: ['entitlements'],
    params: ID,
    errors: [404, 503],
    response: { status: 200, description: 'The entitlement', schema: EntitlementDetail },
  })
  get(@Param('id') id: string) {
    return this.views.entitlement(idParam('id', id));
  }

  @Get('entitlements/:id/events')
  @AdminRoute({
    role: 'viewer',
    operationId: 'listEntitlementEvents',
    summary: 'The inbound events that concerned one entitlement, without their raw payloads',
    description: 'In id order; read one with `GET /admin/v1/events/{eventId}` for its raw payload.',
    tags: ['entitlements', 'events'],
    params: ID,
    query: pageQuery,
    errors: [503],
    response: { status: 200, description: 'One page, in id order', schema: EventPage },
  })
  events(@Param('id') id: string, @Query() query: unknown) {
    return this.views.eventsOf(idParam('id', id), parseRequest(pageQuery, query));
  }

  @Post('entitlements/:id/approve')
  @HttpCode(200)
  @AdminRoute({
    role: 'approver',
    operationId: 'approveEntitlement',
    summary: 'Approve a Marketplace entitlement waiting for activation',
    description:
      'Re-reads the entitlement from the Procurement API; 409 with the current state when it is no longer ACTIVATION_REQUESTED or was approved already. The entitlement becomes active when Google activates it (ENTITLEMENT_ACTIVE).',
    tags: ['entitlements'],
    params: ID,
    body: approveBody,
    errors: [400, 404, 409, 503],
    response: { status: 200, description: 'Approved', schema: EntitlementActionResult },
  })
  approve(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Body() body: unknown) {
    const { reason } = parseRequest(approveBody, body);
    return this.actions.approve(principal, idParam('id', id), reason ?? null);
  }

  @Post('entitlements/:id/reject')
  @HttpCode(200)
  @AdminRoute({
    role: 'approver',
    operationId: 'rejectEntitlement',
    summary: 'Reject a Marketplace entitlement waiting for activation',
    description: 'The Procurement API removes a rejected entitlement; it is kept here with status `rejected`.',
    tags: ['entitlements'],
    params: ID,
    body: rejectBody,
    errors: [400, 404, 409, 503],
    response: { status: 200, description: 'Rejected', schema: EntitlementActionResult },
  })
  reject(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Body() body: unknown) {
    const { reason } = parseRequest(rejectBody, body);
    return this.actions.reject(principal, idParam('id', id), reason);
  }

  @Post('entitlements/:id/plan-change/approve')
  @HttpCode(200)
  @AdminRoute({
    role: 'approver',
    operationId: 'approvePlanChange',
    summary: 'Approve the pending plan change the request names',
    description:
      '`plan` must equal the `newPendingPlan` the Procurement API returns now; otherwise 409 with the current state.',
    tags: ['entitlements'],
    params: ID,
    body: planChangeApproveBody,
    errors: [400, 404, 409, 503],
    response: { status: 200, description: 'Approved', schema: EntitlementActionResult },
  })
  approvePlanChange(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Body() body: unknown) {
    const { plan, reason } = parseRequest(planChangeApproveBody, body);
    return this.actions.approvePlanChange(principal, idParam('id', id), plan, reason ?? null);
  }

  @Post('entitlements/:id/plan-change/reject')
  @HttpCode(200)
  @AdminRoute({
    role: 'approver',
    operationId: 'rejectPlanChange',
    summary: 'Reject the pending plan change the request names',
    description: 'The entitlement stays on its current plan.',
    tags: ['entitlements'],
    params: ID,
    body: planChangeRejectBody,
    errors: [400, 404, 409, 503],
    response: { status: 200, description: 'Rejected', schema: EntitlementActionResult },
  })
  rejectPlanChange(@CurrentPrincipal() principal: Principal, @Param('id') id: string, @Body() body: unknown) {
    const { plan, reason } = parseRequest(planChangeRejectBody, body);
    return this.actions.rejectPlanChange(principal, idParam('id', id), plan, reason);
  }
}
