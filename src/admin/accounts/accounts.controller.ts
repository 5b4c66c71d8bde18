import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { accountsQuery, approveBody, idParam, parseRequest, rejectBody, resetBody } from '../admin.schemas.js';
import { AdminViews } from '../admin-views.service.js';
import { CurrentPrincipal } from '../auth/admin-auth.guard.js';
import { AdminRoute, type Principal } from '../auth/roles.js';
import { AccountActionResult, AccountDetail, AccountPage } from '../openapi/responses.js';
import { AccountActions } from './account-actions.service.js';

const ID = { accountId: 'Marketplace account id' };

@Controller('admin/v1/accounts')
export class AccountsController {
  constructor(
    private readonly views: AdminViews,
    private readonly actions: AccountActions,
  ) {}

  @Get()
  @AdminRoute({
    role: 'viewer',
    operationId: 'listAccounts',
    summary: 'Marketplace accounts, filtered by the state of their sign-up approval',
    description: '`signup=PENDING`: the sign-ups waiting for a decision. Without the sign-up token data (`google`).',
    tags: ['accounts'],
    query: accountsQuery,
    errors: [503],
    response: { status: 200, description: 'One page, in id order', schema: AccountPage },
  })
  list(@Query() query: unknown) {
    return this.views.accounts(parseRequest(accountsQuery, query));
  }

  @Get(':accountId')
  @AdminRoute({
    role: 'viewer',
    operationId: 'getAccount',
    summary: 'A Marketplace account as mirrored, with the ids of its entitlements',
    tags: ['accounts'],
    params: ID,
    errors: [404, 503],
    response: { status: 200, description: 'The account', schema: AccountDetail },
  })
  get(@Param('accountId') accountId: string) {
    return this.views.account(idParam('accountId', accountId));
  }

  @Post(':accountId/approve')
  @HttpCode(200)
  @AdminRoute({
    role: 'approver',
    operationId: 'approveAccount',
    summary: "Approve the account's sign-up",
    description:
      'Then approves (per policy) the entitlements parked while the account waited. 409 when the sign-up is approved already.',
    tags: ['accounts'],
    params: ID,
    body: approveBody,
    errors: [400, 404, 409, 503],
    response: { status: 200, description: 'Approved', schema: AccountActionResult },
  })
  approve(@CurrentPrincipal() principal: Principal, @Param('accountId') accountId: string, @Body() body: unknown) {
    const { reason } = parseRequest(approveBody, body);
    return this.actions.approve(principal, idParam('accountId', accountId), reason ?? null);
  }

  @Post(':accountId/reject')
  @HttpCode(200)
  @AdminRoute({
    role: 'approver',
    operationId: 'rejectAccount',
    summary: "Reject the account's pending sign-up",
    tags: ['accounts'],
    params: ID,
    body: rejectBody,
    errors: [400, 404, 409, 503],
    response: { status: 200, description: 'Rejected', schema: AccountActionResult },
  })
  reject(@CurrentPrincipal() principal: Principal, @Param('accountId') accountId: string, @Body() body: unknown) {
    const { reason } = parseRequest(rejectBody, body);
    return this.actions.reject(principal, idParam('accountId', accountId), reason);
  }

  @Post(':accountId/reset')
  @HttpCode(200)
  @AdminRoute({
    role: 'approver',
    operationId: 'resetAccount',
    summary: 'Reset a test account (accounts.reset) to test a purchase again',
    description:
      "For the seller's own test accounts only: Google cancels the account's entitlements and puts its sign-up back to PENDING; the service mirrors that and forgets the account's sign-up data and links. 409 unless the account is listed in config/policy.yaml marketplace.testAccounts or the body says `testAccount: true`.",
    tags: ['accounts'],
    params: ID,
    body: resetBody,
    errors: [400, 404, 409, 503],
    response: { status: 200, description: 'Reset', schema: AccountActionResult },
  })
  reset(@CurrentPrincipal() principal: Principal, @Param('accountId') accountId: string, @Body() body: unknown) {
    const { reason, testAccount } = parseRequest(resetBody, body);
    return this.actions.reset(principal, idParam('accountId', accountId), reason, testAccount === true);
  }
}
