import { Controller, Get, type Type } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants.js';
import { DiscoveryService } from '@nestjs/core';
import { ADMIN_DEFAULTS } from '../admin.defaults.js';
import { AdminRoute, type Principal } from '../auth/roles.js';
import { CurrentPrincipal } from '../auth/admin-auth.guard.js';
import { Caller, OpenApiDocumentBody } from './responses.js';
import { buildOpenApiDocument, type OpenApiDocument } from './openapi.document.js';

/** `GET /admin/v1/openapi.json` (viewer: the document is not public) and `GET /admin/v1/me`. */
@Controller('admin/v1')
export class OpenApiController {
  private document?: OpenApiDocument;

  constructor(private readonly discovery: DiscoveryService) {}

  @Get('openapi.json')
  @AdminRoute({
    role: 'viewer',
    operationId: 'getOpenApiDocument',
    summary: 'This OpenAPI 3.1 document',
    description: 'Built from the routes themselves: every admin route with the role it requires (`x-required-role`).',
    tags: ['meta'],
    response: { status: 200, description: 'The document', schema: OpenApiDocumentBody },
  })
  openApi(): OpenApiDocument {
    // Every controller under the admin prefix, whichever module declares it.
    this.document ??= buildOpenApiDocument(
      this.discovery
        .getControllers()
        .map((wrapper) => wrapper.metatype as Type | null)
        .filter((type): type is Type => !!type && isAdminController(type)),
      '1.0.0',
    );
    return this.document;
  }

  @Get('me')
  @AdminRoute({
    role: 'viewer',
    operationId: 'getCaller',
    summary: 'Who the API takes the caller for, and their role',
    tags: ['meta'],
    response: { status: 200, description: 'The caller', schema: Caller },
  })
  me(@CurrentPrincipal() principal: Principal): Principal {
    return principal;
  }
}

function isAdminController(type: Type): boolean {
  const path = String(Reflect.getMetadata(PATH_METADATA, type) ?? '')
    .replace(/^\/+/, '')
    .toLowerCase();
  return path === ADMIN_DEFAULTS.prefix || path.startsWith(`${ADMIN_DEFAULTS.prefix}/`);
}
