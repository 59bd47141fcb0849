/** A call made at most once per `delayMs` while requests for it keep coming: the first
 * request after a call schedules the next one, later requests join it (unlike a debounce,
 * which a steady stream of requests postpones for ever). */
export class Throttle {
  constructor(
    private readonly call: () => void,
    private readonly delayMs: number
  ) {}

  /** Make the call `delayMs` after the first request since the last call. */
  request(): void {
    if (this.timer === undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.call();
      }, this.delayMs);
    }
  }

  /** Drop a scheduled call. */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private timer: ReturnType<typeof setTimeout> | undefined;
}
