import { Controller, Get, Query } from '@nestjs/common';
import { auditQuery, parseRequest } from '../admin.schemas.js';
import { AdminViews } from '../admin-views.service.js';
import { AdminRoute } from '../auth/roles.js';
import { AuditPage } from '../openapi/responses.js';

@Controller('admin/v1/audit')
export class AuditController {
  constructor(private readonly views: AdminViews) {}

  @Get()
  @AdminRoute({
    role: 'viewer',
    operationId: 'listAudit',
    summary: 'Admin actions, newest first, optionally for one target',
    tags: ['audit'],
    query: auditQuery,
    errors: [503],
    response: { status: 200, description: 'One page', schema: AuditPage },
  })
  list(@Query() query: unknown) {
    return this.views.audit(parseRequest(auditQuery, query));
  }
}
