/**
 * A typed fetch of the orchest_ext REST API: paths, parameters, bodies and answers are the
 * types `openapi-typescript` generates from `orchest_ext/web/openapi.yaml`
 * (`src/generated/openapi.ts`, `npm run build:api`), requests go through JupyterLab's
 * `ServerConnection` (base URL, token, XSRF).
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { components, paths } from './generated/openapi';

/** The API's schemas (`components.schemas` of openapi.yaml). */
export type Schemas = components['schemas'];

export type Issue = Schemas['Issue'];

/** An error answer of the API (or no answer at all), with the server's message. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly issues: Issue[] = []
  ) {
    super(message);
  }
}

export type Path = keyof paths;
export type Method = 'get' | 'post' | 'patch' | 'delete';

/** The operation `method path` of the document. */
type Operation<P extends Path, M extends Method> = NonNullable<paths[P][M]>;

type JsonContent<T> = T extends { content: { 'application/json': infer B } }
  ? B
  : never;

/** The JSON of the operation's success answers (2xx). */
export type Answer<P extends Path, M extends Method> =
  Operation<P, M> extends { responses: infer R }
    ? JsonContent<R[Extract<keyof R, 200 | 201 | 202>]> extends never
      ? unknown
      : JsonContent<R[Extract<keyof R, 200 | 201 | 202>]>
    : never;

type Parameters<P extends Path, M extends Method, Where extends string> =
  Operation<P, M> extends { parameters: infer Ps }
    ? Ps extends { [K in Where]?: infer Q }
      ? Q
      : never
    : never;

/** What a call sends: path parameters, query parameters and JSON body, as the document
 * has them (each only when the operation takes it). */
export type CallOptions<P extends Path, M extends Method> = {
  path?: Parameters<P, M, 'path'>;
  query?: Parameters<P, M, 'query'>;
  body?: JsonContent<
    Operation<P, M> extends { requestBody?: infer B } ? NonNullable<B> : never
  >;
};

/** Call `method path` of the API; throws `ApiError` for an error answer or no answer. */
export async function callApi<P extends Path, M extends Method>(
  settings: ServerConnection.ISettings,
  method: M,
  path: P,
  options: CallOptions<P, M> = {}
): Promise<Answer<P, M>> {
  const init: RequestInit =
    method === 'get' ? {} : { method: method.toUpperCase() };
  if (options.body !== undefined) {
    init.body = JSON.stringify(options.body);
  }
  const url = urlOf(settings, path, options.path, options.query);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (err) {
    throw new ApiError(
      `The server cannot be reached: ${(err as Error).message}`,
      0
    );
  }
  const body = await jsonOf(response);
  if (!response.ok) {
    const message =
      body && typeof body.message === 'string'
        ? body.message
        : `The server answered ${response.status} ${response.statusText}`;
    throw new ApiError(message, response.status, body?.issues ?? []);
  }
  return body as Answer<P, M>;
}

/** `<base_url>orchest/api/<path>` with its `{parameters}` filled in, and the query. */
function urlOf(
  settings: ServerConnection.ISettings,
  path: string,
  parameters: object | undefined,
  query: object | undefined
): string {
  const values = (parameters ?? {}) as Record<string, unknown>;
  const filled = path.replace(/\{(\w+)\}/g, (_, name: string) =>
    encodeURIComponent(String(values[name]))
  );
  let url = URLExt.join(settings.baseUrl, 'orchest', 'api', filled.slice(1));
  const search = new URLSearchParams(
    Object.entries(query ?? {})
      .filter(([, value]) => value !== undefined)
      .map(([name, value]) => [name, String(value)])
  ).toString();
  if (search) {
    url += `?${search}`;
  }
  return url;
}

async function jsonOf(response: Response): Promise<any> {
  const text = await response.text();
  if (!text) {
    return null;
  }
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
