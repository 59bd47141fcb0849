import { PipelineStep } from '../model/pipeline';
import { draftOf, draftPatch, envText, parseEnvText } from '../model/stepDraft';

describe('environment variables as NAME=value lines', () => {
  it('reads names and values, keeping = and spaces in values', () => {
    expect(parseEnvText('A=1\n\nB_2=x = y \nEMPTY=')).toEqual({
      value: { A: '1', B_2: 'x = y ', EMPTY: '' }
    });
  });

  it('names the line that is not NAME=value', () => {
    expect(parseEnvText('A=1\nnot a variable')).toEqual({
      error: expect.stringContaining('line 2')
    });
    expect(parseEnvText('1A=x')).toEqual({
      error: expect.stringContaining('line 1')
    });
  });

  it('writes what it reads', () => {
    const env = { GREETING: 'hello world', EMPTY: '' };
    expect(parseEnvText(envText(env))).toEqual({ value: env });
  });
});

describe('draftPatch', () => {
  const step: PipelineStep = {
    uuid: 's',
    title: 'Greet',
    filePath: 'greet.ipynb',
    kind: 'notebook',
    incoming: [],
    position: null,
    parameters: { a: 1 },
    environment: '',
    kernel: 'python3',
    env: { A: '1' }
  };

  it('changes only the edited fields', () => {
    expect(draftPatch(step, draftOf(step), true)).toEqual({});
    const draft = { ...draftOf(step), kernel: 'ir', env: 'A=1\nB=2' };
    expect(draftPatch(step, draft, true)).toEqual({
      kernel: 'ir',
      env_variables: { A: '1', B: '2' }
    });
  });

  it('leaves out the fields a format lacks', () => {
    const draft = { ...draftOf(step), env: '', title: 'Hello' };
    expect(draftPatch(step, draft, false)).toEqual({ title: 'Hello' });
  });

  it('is null while a field is invalid', () => {
    expect(draftPatch(step, { ...draftOf(step), env: 'oops' }, true)).toBe(
      null
    );
    expect(draftPatch(step, { ...draftOf(step), parameters: '{' }, true)).toBe(
      null
    );
  });
});
