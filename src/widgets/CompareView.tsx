/** Two runs side by side in a main-area tab ("Compare runs a · b"). */
import { MainAreaWidget, ReactWidget } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import React from 'react';

import { OrchestApi } from '../api';
import { OrchestEvents } from '../events';
import { CompareActions, CompareApp } from '../components/CompareApp';
import { TranslationContext } from '../components/translation';
import { pipelineIcon } from '../icons';
import { Comparison, endsPartOf } from '../model/compare';
import { StatusEvent } from '../model/runState';

const SHORT_ID = 8;

export class CompareView extends ReactWidget {
  constructor(
    private readonly api: OrchestApi,
    readonly runIds: [string, string],
    private readonly actions: Omit<CompareActions, 'refresh'>,
    private readonly trans: TranslationBundle,
    private readonly events: OrchestEvents
  ) {
    super();
    this.addClass('jp-orchest-CompareView');
    events.status.connect(this._onStatus, this);
  }

  dispose(): void {
    this.events.status.disconnect(this._onStatus, this);
    super.dispose();
  }

  get comparison(): Comparison | null {
    return this._comparison;
  }

  /** Ask the server for the comparison (again) and show it, or why there is none. */
  async load(): Promise<void> {
    const ticket = ++this._loads;
    let comparison: Comparison | null = null;
    let error: string | null = null;
    try {
      comparison = await this.api.compareRuns(...this.runIds);
    } catch (err) {
      error = (err as Error).message;
    }
    if (ticket !== this._loads || this.isDisposed) {
      return; // a later load answers instead
    }
    this._comparison = comparison ?? this._comparison;
    this._error = error;
    this.update();
  }

  render(): JSX.Element {
    const actions = { ...this.actions, refresh: () => void this.load() };
    return (
      <TranslationContext.Provider value={this.trans}>
        <CompareApp
          comparison={this._comparison}
          error={this._error}
          actions={actions}
        />
      </TranslationContext.Provider>
    );
  }

  /** A run still in progress: each step (or the run) that ends is shown once stored. */
  private _onStatus(_: OrchestEvents, event: StatusEvent): void {
    if (endsPartOf(event, this.runIds)) {
      void this.load();
    }
  }

  private _loads = 0;
  private _comparison: Comparison | null = null;
  private _error: string | null = null;
}

/** The tab of a comparison: "Compare <a> · <b>". */
export function compareWidget(
  content: CompareView,
  trans: TranslationBundle
): MainAreaWidget<CompareView> {
  const widget = new MainAreaWidget({ content });
  const [a, b] = content.runIds.map(id => id.slice(0, SHORT_ID));
  widget.id = `orchest-compare-${content.runIds.join('-')}`;
  widget.title.icon = pipelineIcon;
  widget.title.closable = true;
  widget.title.label = trans.__('Compare %1 · %2', a, b);
  widget.title.caption = trans.__(
    'Run %1 (A) and run %2 (B) side by side',
    ...content.runIds
  );
  return widget;
}
