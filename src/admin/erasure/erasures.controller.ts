import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { erasureBody, parseRequest } from '../admin.schemas.js';
import { CurrentPrincipal } from '../auth/admin-auth.guard.js';
import { AdminRoute, type Principal } from '../auth/roles.js';
import { ErasureResult } from '../openapi/responses.js';
import { ErasureRequests } from './erasure.service.js';

@Controller('admin/v1/erasures')
export class ErasuresController {
  constructor(private readonly erasures: ErasureRequests) {}

  @Post()
  @HttpCode(200)
  @AdminRoute({
    role: 'approver',
    operationId: 'eraseSubject',
    summary: "Erase a person's personal data (all sources but the Marketplace, which uses ACCOUNT_DELETED)",
    description:
      'Every entitlement of the subject becomes an anonymized tombstone (access removed; late deliveries are ignored), the e-mail is removed where the person was the buyer of a gift, and the raw payloads of the event records that named them are dropped. Idempotent: a second request erases nothing more. 409 while documents from before subject keys were hashed remain (run the migration first).',
    tags: ['erasures'],
    body: erasureBody,
    errors: [400, 409, 503],
    response: { status: 200, description: 'What was erased', schema: ErasureResult },
  })
  erase(@CurrentPrincipal() principal: Principal, @Body() body: unknown) {
    return this.erasures.erase(principal, parseRequest(erasureBody, body));
  }
}
