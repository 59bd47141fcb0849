import { ServerConnection } from '@jupyterlab/services';
import { createServer, IncomingMessage, Server } from 'http';
import { AddressInfo } from 'net';

import { ApiError, OrchestApi } from '../api';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

/** A real HTTP server that records each request and answers `answer(request)`. */
async function serve(
  answer: (seen: Seen) => [number, unknown]
): Promise<{ server: Server; seen: Seen[]; api: OrchestApi }> {
  const seen: Seen[] = [];
  const server = createServer((request: IncomingMessage, response) => {
    let body = '';
    request.on('data', chunk => (body += chunk));
    request.on('end', () => {
      const record = {
        method: request.method ?? '',
        url: request.url ?? '',
        authorization: request.headers.authorization,
        body
      };
      seen.push(record);
      const [status, json] = answer(record);
      response.writeHead(status, { 'Content-Type': 'application/json' });
      response.end(JSON.stringify(json));
    });
  });
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const settings = ServerConnection.makeSettings({
    baseUrl: `http://127.0.0.1:${port}/lab%20base/`,
    wsUrl: `ws://127.0.0.1:${port}/lab%20base/`,
    token: 'secret-token'
  });
  return { server, seen, api: new OrchestApi(settings) };
}

describe('the REST client generated from openapi.yaml', () => {
  let server: Server | null = null;
  afterEach(() => server?.close());

  it('fills path parameters, query and body as the document names them', async () => {
    const run = { id: 'r/1', status: 'PENDING', seq: 1 };
    const started = await serve(() => [200, run]);
    server = started.server;
    const { api, seen } = started;
    await api.getRun('r/1');
    await api.listRuns('p/pipeline.orchest', 20, 40);
    await api.deleteJob('job 1', true);
    await api.validateText('{}', 'p');
    // ServerConnection adds a cache-busting number to every URL
    const urls = seen.map(s => [s.method, s.url.replace(/[?&]\d+$/, '')]);
    expect(urls).toEqual([
      ['GET', '/lab%20base/orchest/api/runs/r%2F1'],
      [
        'GET',
        '/lab%20base/orchest/api/runs?pipeline_path=p%2Fpipeline.orchest&limit=20&offset=40'
      ],
      ['DELETE', '/lab%20base/orchest/api/jobs/job%201?remove_runs=true'],
      ['POST', '/lab%20base/orchest/api/pipelines/validate']
    ]);
    expect(JSON.parse(seen[3].body)).toEqual({
      pipeline_description: '{}',
      pipeline_dir: 'p'
    });
    expect(seen.every(s => s.authorization === 'token secret-token')).toBe(
      true
    );
  });

  it('turns an error answer into an ApiError with the server’s message and issues', async () => {
    const issue = { message: 'Step "A" (a): field "retries" ...', step: 'a' };
    const started = await serve(() => [
      422,
      { status: 422, message: 'The pipeline has 1 issue', issues: [issue] }
    ]);
    server = started.server;
    const error = await started.api
      .startRun({ pipeline_path: 'p.orchest', run_type: 'full' })
      .catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 422,
      message: 'The pipeline has 1 issue',
      issues: [issue]
    });
  });

  it('says when the server cannot be reached', async () => {
    const started = await serve(() => [200, {}]);
    started.server.close();
    const error = await started.api.listJobs().catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(0);
    expect((error as ApiError).message).toMatch(
      /^The server cannot be reached/
    );
  });
});
