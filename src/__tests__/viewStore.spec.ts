import { nullTranslator } from '@jupyterlab/translation';

import { ApiError } from '../api';
import { ViewStore } from '../controllers/viewStore';

const trans = nullTranslator.load('orchest_ext');
const ISSUE = { message: 'file_path a.py does not exist.', step: 'a' };

describe('ViewStore', () => {
  it("shows a refused run's issues until a validation finds them gone", async () => {
    const store = new ViewStore(trans);
    await store.call(async () => {
      throw new ApiError('refused', 422, [ISSUE]);
    });
    expect(store.state.error).toBe(
      'The pipeline has 1 issue; see the list below.'
    );
    expect(store.state.issues).toEqual([ISSUE]);
    store.validated([], 'p');
    expect(store.state.error).toBeNull();
    expect(store.state.issues).toEqual([]);
    expect(store.state.pipelineUuid).toBe('p');
  });

  it('keeps other errors across validations', async () => {
    const store = new ViewStore(trans);
    await store.call(async () => {
      throw new Error('The server cannot be reached');
    });
    store.validated([], 'p');
    expect(store.state.error).toBe('The server cannot be reached');
  });

  it('tells each change and none once disposed', () => {
    const store = new ViewStore(trans, { failurePolicy: 'fail_fast' });
    const seen: string[] = [];
    store.changed.connect((_, state) => seen.push(state.sideTab));
    expect(store.state.failurePolicy).toBe('fail_fast');
    store.update({ sideTab: 'step' });
    store.dispose();
    store.update({ sideTab: 'pipeline' });
    expect(seen).toEqual(['step']);
    expect(store.state.sideTab).toBe('step');
  });
});
