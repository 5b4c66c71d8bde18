import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config.js';

/** GetCourse's own default: schools on getcourse.ru run on Moscow time unless they changed it. */
export const DEFAULT_GETCOURSE_TIMEZONE = 'Europe/Moscow';

/** GetCourse settings from the validated environment: the path token and the school's time zone. */
@Injectable()
export class GetCourseSettings {
  readonly pathToken: string | undefined;
  readonly timeZone: string;

  constructor(config: AppConfig) {
    this.pathToken = config.env.GETCOURSE_PATH_TOKEN;
    this.timeZone = config.env.GETCOURSE_TIMEZONE;
  }
}
