/** One subscription to the Jupyter event bus, handing orchest_ext's events to listeners. */
import { Event } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { BUILD_SCHEMA, BuildEvent } from './model/environmentBuild';
import { EVENT_SCHEMAS, StatusEvent } from './model/runState';

export interface LaunchEvent {
  schema_id: string;
  pipeline_uuid: string;
  session_id?: string;
  status: 'LAUNCHING' | 'RUNNING' | 'STOPPING' | 'STOPPED' | 'FAILED';
  reason?: string | null;
}

export class OrchestEvents {
  constructor(stream: Event.Stream) {
    stream.connect(this._onEvent, this);
  }

  /** Run and step status changes, in arrival order. */
  get status(): ISignal<this, StatusEvent> {
    return this._status;
  }

  /** Steps waiting for (and done waiting for) their environment's image build. */
  get build(): ISignal<this, BuildEvent> {
    return this._build;
  }

  /** Session (launch) status changes. */
  get launch(): ISignal<this, LaunchEvent> {
    return this._launch;
  }

  private _onEvent(_: Event.IManager, event: Event.Emission): void {
    const schema = event.schema_id;
    if (schema === EVENT_SCHEMAS.run || schema === EVENT_SCHEMAS.step) {
      this._status.emit(event as unknown as StatusEvent);
    } else if (schema === BUILD_SCHEMA) {
      this._build.emit(event as unknown as BuildEvent);
    } else if (schema === EVENT_SCHEMAS.launch) {
      this._launch.emit(event as unknown as LaunchEvent);
    }
  }

  private _status = new Signal<this, StatusEvent>(this);
  private _launch = new Signal<this, LaunchEvent>(this);
  private _build = new Signal<this, BuildEvent>(this);
}
