import { Body, Controller, HttpCode, Post, Req, Res, UseGuards } from '@nestjs/common';
import type { HttpReply } from '../../common/http.js';
import { parseBody } from '../../webhooks/common/zod-body.js';
import { LinkAuthGuard, type LinkRequest } from './link-auth.guard.js';
import { linkRequest, signupForm } from './signup.schema.js';
import { MarketplaceSignup, type LinkResult } from './signup.service.js';
import { SIGNUP_TOKEN_FIELD } from './signup.settings.js';

/**
 * `POST /marketplace/signup`: the seller's sign-up URL in Producer Portal; Google's page posts the buyer's browser
 * here. `POST /marketplace/link`: the product backend, once it has its user.
 */
@Controller('marketplace')
export class SignupController {
  constructor(private readonly signup: MarketplaceSignup) {}

  @Post('signup')
  async signUp(@Body() body: unknown, @Res() reply: HttpReply): Promise<void> {
    const form = parseBody(signupForm, body ?? {});
    const { redirectTo } = await this.signup.signUp(form[SIGNUP_TOKEN_FIELD]);
    // The link token is in the URL: never cached, never sent on as a Referer from this response.
    await reply.header('Cache-Control', 'no-store').header('Referrer-Policy', 'no-referrer').redirect(redirectTo, 303);
  }

  @Post('link')
  @HttpCode(200)
  @UseGuards(LinkAuthGuard)
  link(@Body() body: unknown, @Req() request: LinkRequest): Promise<LinkResult> {
    const { linkToken, userId } = parseBody(linkRequest, body);
    return this.signup.link(linkToken, userId, request.linkCaller ?? 'unknown');
  }
}
