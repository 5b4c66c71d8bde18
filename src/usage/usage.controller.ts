import { Body, Controller, HttpCode, Post, UseGuards } from '@nestjs/common';
import { UsageAuthGuard } from './usage-auth.guard.js';
import { UsageIntake } from './usage-intake.service.js';

/** The product backend's HTTP intake of usage records (docs/usage-reporting.md); the other path is Firestore. */
@Controller('usage/v1')
@UseGuards(UsageAuthGuard)
export class UsageController {
  constructor(private readonly intake: UsageIntake) {}

  @Post('records')
  @HttpCode(200)
  records(@Body() body: unknown) {
    return this.intake.add(body);
  }
}
