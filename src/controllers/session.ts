/** The pipeline's interactive session: start, stop, and its state from launch events. */
import { Launch, OrchestApi } from '../api';
import { LaunchEvent, OrchestEvents } from '../events';
import { dirname } from '../model/paths';
import { ViewStore } from './viewStore';

export class SessionController {
  constructor(
    private readonly api: OrchestApi,
    private readonly events: OrchestEvents,
    private readonly store: ViewStore,
    /** The pipeline file's path relative to the root (the session mounts its folder). */
    private readonly path: () => string
  ) {
    events.launch.connect(this.onLaunchEvent, this);
  }

  dispose(): void {
    this.events.launch.disconnect(this.onLaunchEvent, this);
  }

  async start(): Promise<void> {
    const uuid = this.store.state.pipelineUuid;
    if (!uuid) {
      this.store.update({
        error: this.store.trans.__(
          "Fix the pipeline's issues before starting a session."
        )
      });
      return;
    }
    await this.store.call(async () => {
      this.store.update({
        launch: await this.api.startLaunch(uuid, dirname(this.path()))
      });
    });
  }

  async stop(): Promise<void> {
    const uuid = this.store.state.pipelineUuid;
    if (uuid) {
      await this.store.call(async () => {
        this.store.update({ launch: await this.api.stopLaunch(uuid) });
      });
    }
  }

  /** This pipeline's session, and whether one can be launched here at all. */
  async refresh(): Promise<void> {
    const uuid = this.store.state.pipelineUuid;
    if (!uuid) {
      return;
    }
    await this.store.call(async () => {
      const { launches, available, reason } = await this.api.listLaunches();
      this.store.update({
        launch: launches.find(l => l.pipeline_uuid === uuid) ?? null,
        sessionsUnavailable: available === false ? (reason ?? '') : null
      });
    });
  }

  private onLaunchEvent(_: OrchestEvents, event: LaunchEvent): void {
    const { pipelineUuid, launch } = this.store.state;
    if (event.pipeline_uuid !== pipelineUuid) {
      return;
    }
    this.store.update({
      launch:
        event.status === 'STOPPED'
          ? null
          : ({ ...(launch ?? {}), ...event } as Launch)
    });
  }
}
