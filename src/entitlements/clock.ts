/** Time as the service sees it; tests and the lifecycle sweeps swap in a controllable clock. */
export abstract class Clock {
  abstract now(): Date;
}

export class SystemClock extends Clock {
  now(): Date {
    return new Date();
  }
}
