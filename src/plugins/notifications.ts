/**
 * JupyterLab notifications of finished runs: runs started from this JupyterLab, and failed
 * job runs while the Jobs panel is open, as the `notifications` setting says; with actions
 * *Show run* (the run on its pipeline's graph) and, for failures, *Show log*.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { MainAreaWidget, Notification } from '@jupyterlab/apputils';
import { Event } from '@jupyterlab/services';
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { OrchestApi } from '../api';
import { openPipeline } from '../openers';
import { formatDuration } from '../model/format';
import { firstFailedStep, RunOrigin, shouldNotify } from '../model/runNotice';
import { ApiRun, EVENT_SCHEMAS, TERMINAL } from '../model/runState';
import {
  IOrchestService,
  IOrchestSettings,
  IPipelineTracker,
  TRANSLATION_DOMAIN
} from '../tokens';
import { JOB_STATUS_SCHEMA } from '../widgets/JobsPanel';
import { PipelineDocument } from '../widgets/PipelineDocument';

const JOBS_PANEL_ID = 'orchest-jobs';
const REMEMBERED_ENDS = 200;
const SHOW_RUN_TIMEOUT_MS = 15000;

interface NotifiedRun extends ApiRun {
  pipeline_name?: string;
}

/** The runs this JupyterLab notifies about, and how it shows them. */
class RunNotifier {
  constructor(
    private readonly app: JupyterFrontEnd,
    private readonly api: OrchestApi,
    private readonly settings: IOrchestSettings,
    private readonly tracker: IPipelineTracker | null,
    private readonly trans: TranslationBundle
  ) {}

  /** A run started from here: notify when it ends (it may have ended already). */
  started(run: ApiRun): void {
    const ended = this._ended.get(run.id);
    if (ended !== undefined) {
      void this.notify(run.id, 'mine');
    } else {
      this._mine.add(run.id);
    }
  }

  /** A run status event: a run started here that ended is notified about. */
  runEvent(runId: string, status: string): void {
    if (!TERMINAL.has(status)) {
      return;
    }
    if (this._mine.delete(runId)) {
      void this.notify(runId, 'mine');
      return;
    }
    this._ended.set(runId, status);
    if (this._ended.size > REMEMBERED_ENDS) {
      this._ended.delete(this._ended.keys().next().value as string);
    }
  }

  /** A job's run ended: notified about (if it failed) while the Jobs panel is open. */
  jobRunEnded(runId: string): void {
    const panel = Array.from(this.app.shell.widgets('left')).find(
      widget => widget.id === JOBS_PANEL_ID
    );
    if (panel?.isVisible && !this._mine.has(runId)) {
      void this.notify(runId, 'job');
    }
  }

  private async notify(runId: string, origin: RunOrigin): Promise<void> {
    this._ended.delete(runId);
    const when = this.settings.preferences.notifications;
    if (when === 'never') {
      return;
    }
    const run = (await this.api.getRun(runId)) as NotifiedRun;
    if (!shouldNotify(when, origin, run.status)) {
      return;
    }
    const trans = this.trans;
    const took = formatDuration(
      run.started_time ?? run.created_time,
      run.finished_time
    );
    const name = run.pipeline_name ?? run.pipeline_path ?? run.pipeline_uuid;
    const message = took
      ? trans.__('%1: run %2 after %3', name, run.status, took)
      : trans.__('%1: run %2', name, run.status);
    const actions: Notification.IAction[] = [
      {
        label: trans.__('Show run'),
        caption: trans.__('Open the pipeline with this run on the graph'),
        callback: () => void this.showRun(run)
      }
    ];
    const failed = firstFailedStep(run);
    if (failed) {
      actions.push({
        label: trans.__('Show log'),
        caption: trans.__('The log of step %1', failed.title),
        callback: () => void this.showLog(run, failed)
      });
    }
    const type =
      run.status === 'SUCCESS'
        ? 'success'
        : run.status === 'FAILURE'
          ? 'error'
          : 'warning';
    Notification.emit(message, type, {
      autoClose: run.status === 'SUCCESS' ? 5000 : false,
      actions
    });
  }

  /** Open the run's pipeline and show the run on its graph. */
  private async showRun(run: NotifiedRun): Promise<void> {
    const path = run.pipeline_path ?? null;
    if (!path || !this.tracker) {
      Notification.warning(
        this.trans.__(
          'The pipeline file of run %1 is not under this server.',
          run.id
        )
      );
      return;
    }
    openPipeline(this.app, path);
    const widget = await this.openedPipeline(path);
    await widget?.context.ready;
    const controller = widget?.controller;
    if (!controller) {
      return;
    }
    await new Promise<void>(resolve => {
      const loaded = () =>
        controller.state.runs.length > 0 && !!controller.state.run;
      if (loaded()) {
        resolve();
        return;
      }
      const timer = window.setTimeout(done, SHOW_RUN_TIMEOUT_MS);
      function done(): void {
        window.clearTimeout(timer);
        controller!.changed.disconnect(check);
        resolve();
      }
      function check(): void {
        if (loaded()) {
          done();
        }
      }
      controller.changed.connect(check);
    });
    await controller.showRun(run.id);
  }

  /** The open pipeline document of `path`, once the tracker has it. */
  private openedPipeline(path: string): Promise<PipelineDocument | null> {
    const tracker = this.tracker!;
    const local = (widget: PipelineDocument) =>
      this.app.serviceManager.contents.localPath(widget.context.path) === path;
    const open = tracker.find(local);
    if (open) {
      return Promise.resolve(open);
    }
    return new Promise(resolve => {
      const timer = window.setTimeout(() => {
        tracker.widgetAdded.disconnect(added);
        resolve(null);
      }, SHOW_RUN_TIMEOUT_MS);
      function added(_: unknown, widget: PipelineDocument): void {
        if (local(widget)) {
          window.clearTimeout(timer);
          tracker.widgetAdded.disconnect(added);
          resolve(widget);
        }
      }
      tracker.widgetAdded.connect(added);
    });
  }

  /** The failed step's log in a tab. */
  private async showLog(
    run: ApiRun,
    step: { uuid: string; title: string }
  ): Promise<void> {
    const id = `orchest-notified-log-${run.id}-${step.uuid}`;
    if (Array.from(this.app.shell.widgets('main')).some(w => w.id === id)) {
      this.app.shell.activateById(id);
      return;
    }
    const log = await this.api.stepLog(run.id, step.uuid, 0);
    const content = new Widget();
    content.addClass('orchest-StepLog');
    const pre = document.createElement('pre');
    pre.textContent = log.text;
    content.node.appendChild(pre);
    const widget = new MainAreaWidget({ content });
    widget.id = id;
    widget.title.label = this.trans.__(
      '%1 log (run %2)',
      step.title,
      run.id.slice(0, 8)
    );
    widget.title.closable = true;
    this.app.shell.add(widget, 'main', { mode: 'tab-after' });
  }

  private readonly _mine = new Set<string>();
  private readonly _ended = new Map<string, string>();
}

export const notificationsPlugin: JupyterFrontEndPlugin<void> = {
  id: 'orchest-ext:notifications',
  description:
    'Notifications of finished runs (started here, or failed job runs), as the settings say.',
  autoStart: true,
  requires: [IOrchestService, IOrchestSettings],
  optional: [IPipelineTracker, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    service: IOrchestService,
    settings: IOrchestSettings,
    tracker: IPipelineTracker | null,
    translator: ITranslator | null
  ) => {
    const trans = (translator ?? nullTranslator).load(TRANSLATION_DOMAIN);
    const notifier = new RunNotifier(
      app,
      service.api,
      settings,
      tracker,
      trans
    );
    service.api.runStarted.connect((_, { run }) => notifier.started(run));
    service.events.status.connect((_, event) => {
      if (event.schema_id === EVENT_SCHEMAS.run) {
        notifier.runEvent(event.run_id, event.status);
      }
    });
    app.serviceManager.events.stream.connect(
      (_: Event.IManager, event: Event.Emission) => {
        if (
          event.schema_id === JOB_STATUS_SCHEMA &&
          event.action === 'run_finished' &&
          event.run_status === 'FAILURE'
        ) {
          notifier.jobRunEnded(String(event.run_id));
        }
      }
    );
  }
};
