/** The user's pipeline settings (schema/settings.json) through JupyterLab's setting registry. */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ISignal, Signal } from '@lumino/signaling';

import {
  DEFAULT_PREFERENCES,
  Preferences,
  preferencesFrom
} from '../model/preferences';
import { IOrchestSettings } from '../tokens';

const PLUGIN_ID = 'orchest-ext:settings';

class OrchestSettings implements IOrchestSettings {
  get preferences(): Preferences {
    return this._preferences;
  }

  get changed(): ISignal<IOrchestSettings, Preferences> {
    return this._changed;
  }

  /** Follow one plugin's settings from now on. */
  follow(settings: ISettingRegistry.ISettings): void {
    const read = () => {
      this._preferences = preferencesFrom(settings.composite);
      this._changed.emit(this._preferences);
    };
    read();
    settings.changed.connect(read);
  }

  private _preferences: Preferences = DEFAULT_PREFERENCES;
  private _changed = new Signal<IOrchestSettings, Preferences>(this);
}

export const settingsPlugin: JupyterFrontEndPlugin<IOrchestSettings> = {
  id: PLUGIN_ID,
  description:
    'Pipeline settings: default backend, failure policy, notifications.',
  autoStart: true,
  provides: IOrchestSettings,
  optional: [ISettingRegistry],
  activate: async (
    _: JupyterFrontEnd,
    registry: ISettingRegistry | null
  ): Promise<IOrchestSettings> => {
    const settings = new OrchestSettings();
    if (registry) {
      try {
        settings.follow(await registry.load(PLUGIN_ID));
      } catch (err) {
        console.warn(
          `orchest-ext: settings not loaded (${err}); defaults apply`
        );
      }
    }
    return settings;
  }
};
