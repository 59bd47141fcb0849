import {
  chooseBackend,
  DEFAULT_PREFERENCES,
  preferencesFrom
} from '../model/preferences';

describe('preferencesFrom', () => {
  it('reads the settings schema values', () => {
    expect(
      preferencesFrom({
        defaultBackend: ' docker ',
        failurePolicy: 'fail_fast',
        notifications: 'every-end'
      })
    ).toEqual({
      defaultBackend: 'docker',
      failurePolicy: 'fail_fast',
      notifications: 'every-end'
    });
  });

  it('gives the default for a missing or unknown value', () => {
    expect(preferencesFrom({})).toEqual(DEFAULT_PREFERENCES);
    expect(
      preferencesFrom({
        defaultBackend: 3,
        failurePolicy: 'sometimes',
        notifications: null
      })
    ).toEqual(DEFAULT_PREFERENCES);
  });
});

describe('chooseBackend', () => {
  it('takes the preferred backend when the server offers it', () => {
    expect(chooseBackend('docker', ['docker', 'local'], 'local')).toBe(
      'docker'
    );
  });

  it("falls back to the server's default otherwise", () => {
    expect(chooseBackend('swarm', ['docker', 'local'], 'local')).toBe('local');
    expect(chooseBackend('', ['docker', 'local'], 'local')).toBe('local');
  });
});
