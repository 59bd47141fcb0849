/** The services the extension's plugins provide to each other (and to other extensions). */
import { IWidgetTracker } from '@jupyterlab/apputils';
import { Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';

import { OrchestApi } from './api';
import { OrchestEvents } from './events';
import { Preferences } from './model/preferences';
import { PipelineDocument } from './widgets/PipelineDocument';

/** The orchest_ext server: its REST client and its live events. */
export interface IOrchestService {
  readonly api: OrchestApi;
  readonly events: OrchestEvents;
}

export const IOrchestService = new Token<IOrchestService>(
  'orchest-ext:IOrchestService',
  'The orchest_ext REST client and its run, step and session events.'
);

/** The user's pipeline settings, kept current. */
export interface IOrchestSettings {
  readonly preferences: Preferences;
  readonly changed: ISignal<IOrchestSettings, Preferences>;
}

export const IOrchestSettings = new Token<IOrchestSettings>(
  'orchest-ext:IOrchestSettings',
  'The pipeline settings: default backend, failure policy, notifications.'
);

/** The open pipeline documents. */
export type IPipelineTracker = IWidgetTracker<PipelineDocument>;

export const IPipelineTracker = new Token<IPipelineTracker>(
  'orchest-ext:IPipelineTracker',
  'The open pipeline documents (the current one is the focused pipeline).'
);

/** Extension-wide names: file types, the command ids outside the pipeline toolbar. */
export const FILE_TYPES = {
  orchest: 'orchest-pipeline',
  elyra: 'orchest-elyra-pipeline'
};

export const CATEGORY = 'Pipelines';

/** The translation domain of the extension's strings. */
export const TRANSLATION_DOMAIN = 'orchest_ext';
