import { randomUUID } from 'node:crypto';
import { Body, Controller, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import { AppError } from '../../common/errors/app-error.js';
import type { HttpReply, HttpRequest } from '../../common/http.js';
import { AppLogger } from '../../common/logging/app-logger.js';
import { parseBody } from '../../webhooks/common/zod-body.js';
import { LinkAuthGuard, type LinkRequest } from './link-auth.guard.js';
import { refusalPage, wantsHtml } from './signup-page.js';
import { linkRequest, signupForm } from './signup.schema.js';
import { MarketplaceSignup, type LinkResult } from './signup.service.js';
import { SIGNUP_TOKEN_FIELD } from './signup.settings.js';

/**
 * `POST /marketplace/signup`: the seller's sign-up URL in Producer Portal; Google's page posts the buyer's browser
 * here. `POST /marketplace/link`: the product backend, once it has its user.
 */
@Controller('marketplace')
export class SignupController {
  constructor(
    private readonly signup: MarketplaceSignup,
    private readonly logger: AppLogger,
  ) {}

  @Post('signup')
  async signUp(@Body() body: unknown, @Req() request: HttpRequest, @Res() reply: HttpReply): Promise<void> {
    let redirectTo: string;
    try {
      const form = parseBody(signupForm, body ?? {});
      ({ redirectTo } = await this.signup.signUp(form[SIGNUP_TOKEN_FIELD]));
    } catch (error) {
      // A person's browser: a page saying what happened and what to do; any other client: the JSON error body.
      if (!(error instanceof AppError) || !wantsHtml(request)) throw error;
      const errorId = randomUUID();
      this.logger[error.status >= 500 ? 'failure' : 'info']('request refused', {
        errorId,
        status: error.status,
        code: error.code,
        reason: error.message,
      });
      if (error.status === 503) void reply.header('Retry-After', '5');
      await reply
        .status(error.status)
        .header('Cache-Control', 'no-store')
        .header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'")
        .type('text/html; charset=utf-8')
        .send(refusalPage(error, errorId));
      return;
    }
    // The link token is in the URL: never cached, never sent on as a Referer from this response.
    await reply.header('Cache-Control', 'no-store').header('Referrer-Policy', 'no-referrer').redirect(redirectTo, 303);
  }

  @Post('link')
  @HttpCode(200)
  @UseGuards(LinkAuthGuard)
  link(@Body() body: unknown, @Req() request: LinkRequest): Promise<LinkResult> {
    const { linkToken, userId, orderIds } = parseBody(linkRequest, body);
    return this.signup.link(linkToken, userId, request.serviceCaller ?? 'unknown', orderIds);
  }
}
