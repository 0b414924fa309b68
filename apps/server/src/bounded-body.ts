import type { FastifyRequest } from 'fastify';

// Reading a request body under a limit, the one way both body-taking routes do
// it (/trpc's JSON, /import/users' CSV): refused at once from Content-Length,
// else as soon as the bytes pass the limit, without reading the rest.

export type BoundedBodyOptions = {
  limit: number;
  /** The error for a body over the limit (each route words its own). */
  tooLarge: () => Error;
  /** The error for a body shorter or longer than its Content-Length. */
  wrongLength: () => Error;
  /** Looks at each chunk as it arrives; an error returned refuses the body there. */
  inspect?: (chunk: Buffer) => Error | undefined;
};

export function readBoundedBody(
  request: FastifyRequest,
  payload: NodeJS.ReadableStream,
  options: BoundedBodyOptions,
  done: (error: Error | null, body?: Buffer) => void,
): void {
  const { limit } = options;
  const declared = Number(request.headers['content-length']);
  if (declared > limit) {
    done(options.tooLarge());
    return;
  }
  const chunks: Buffer[] = [];
  let received = 0;
  const stop = () => {
    payload.removeListener('data', onData);
    payload.removeListener('end', onEnd);
    payload.removeListener('error', onError);
  };
  function onData(chunk: Buffer | string) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    received += bytes.length;
    if (received > limit) {
      stop();
      done(options.tooLarge());
      return;
    }
    const refused = options.inspect?.(bytes);
    if (refused) {
      stop();
      done(refused);
      return;
    }
    chunks.push(bytes);
  }
  function onError(error: Error) {
    stop();
    done(Object.assign(error, { statusCode: 400 }));
  }
  function onEnd() {
    stop();
    if (!Number.isNaN(declared) && received !== declared) {
      done(options.wrongLength());
      return;
    }
    done(null, Buffer.concat(chunks, received));
  }
  payload.on('data', onData);
  payload.on('end', onEnd);
  payload.on('error', onError);
  payload.resume();
}
