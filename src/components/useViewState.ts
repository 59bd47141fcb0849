/** React hook: the controller's state, re-rendering on each change. */
import { useEffect, useState } from 'react';

import { PipelineController, ViewState } from '../controller';

export function useViewState(controller: PipelineController): ViewState {
  const [state, setState] = useState(controller.state);
  useEffect(() => {
    const onChange = (_: unknown, next: ViewState) => setState(next);
    controller.changed.connect(onChange);
    setState(controller.state);
    return () => {
      controller.changed.disconnect(onChange);
    };
  }, [controller]);
  return state;
}
