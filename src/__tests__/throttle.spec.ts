import { Throttle } from '../model/throttle';

describe('Throttle', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('calls once a delay while requests keep coming every 100 ms', () => {
    const call = jest.fn();
    const throttle = new Throttle(call, 1000);
    for (let i = 0; i < 35; i++) {
      throttle.request();
      jest.advanceTimersByTime(100);
    }
    expect(call).toHaveBeenCalledTimes(3);
  });

  it('calls once for a burst, a delay after its first request', () => {
    const call = jest.fn();
    const throttle = new Throttle(call, 1000);
    throttle.request();
    jest.advanceTimersByTime(500);
    throttle.request();
    jest.advanceTimersByTime(499);
    expect(call).not.toHaveBeenCalled();
    jest.advanceTimersByTime(1);
    expect(call).toHaveBeenCalledTimes(1);
    jest.advanceTimersByTime(5000);
    expect(call).toHaveBeenCalledTimes(1);
  });

  it('makes no call once cancelled', () => {
    const call = jest.fn();
    const throttle = new Throttle(call, 1000);
    throttle.request();
    throttle.cancel();
    jest.advanceTimersByTime(2000);
    expect(call).not.toHaveBeenCalled();
  });
});
