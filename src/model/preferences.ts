/** The user's pipeline settings (schema/settings.json), read leniently into typed values. */

export type FailurePolicy = 'continue' | 'fail_fast';
/** Which finished runs raise a notification. */
export type NotifyWhen = 'on-failure' | 'every-end' | 'never';

export interface Preferences {
  /** The backend a newly opened pipeline selects ('' = the server's default). */
  defaultBackend: string;
  failurePolicy: FailurePolicy;
  notifications: NotifyWhen;
}

export const DEFAULT_PREFERENCES: Preferences = {
  defaultBackend: '',
  failurePolicy: 'continue',
  notifications: 'on-failure'
};

const FAILURE_POLICIES: readonly FailurePolicy[] = ['continue', 'fail_fast'];
const NOTIFY_WHEN: readonly NotifyWhen[] = ['on-failure', 'every-end', 'never'];

function oneOf<T extends string>(
  value: unknown,
  allowed: readonly T[],
  fallback: T
): T {
  return allowed.includes(value as T) ? (value as T) : fallback;
}

/** Preferences from composite settings; a missing or invalid value takes its default. */
export function preferencesFrom(
  settings: Record<string, unknown>
): Preferences {
  return {
    defaultBackend:
      typeof settings.defaultBackend === 'string'
        ? settings.defaultBackend.trim()
        : DEFAULT_PREFERENCES.defaultBackend,
    failurePolicy: oneOf(
      settings.failurePolicy,
      FAILURE_POLICIES,
      DEFAULT_PREFERENCES.failurePolicy
    ),
    notifications: oneOf(
      settings.notifications,
      NOTIFY_WHEN,
      DEFAULT_PREFERENCES.notifications
    )
  };
}

/** The backend to select: the preferred one when the server offers it, else the server's default. */
export function chooseBackend(
  preferred: string,
  offered: string[],
  serverDefault: string
): string {
  return preferred && offered.includes(preferred) ? preferred : serverDefault;
}
