import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';

export type RawResponse = { status: number; headers: Record<string, string>; body: string };

/** The port an app listens on (it must be listening). */
export function portOf(app: FastifyInstance): number {
  const address = app.server.address();
  if (typeof address !== 'object' || !address) throw new Error('the app is not listening');
  return address.port;
}

/**
 * Sends one HTTP/1.1 request exactly as written, request target included (no
 * client normalises `/%74rpc`, `//trpc` or `http://host/trpc` for us), and
 * reads the answer until the server closes the connection.
 */
export function rawRequest(
  port: number,
  request: { method: string; target: string; headers: Record<string, string>; body?: string },
): Promise<RawResponse> {
  const body = request.body ?? '';
  const headers = { connection: 'close', ...request.headers };
  if (body !== '' && !('transfer-encoding' in headers)) {
    Object.assign(headers, { 'content-length': String(Buffer.byteLength(body)) });
  }
  const head = [
    `${request.method} ${request.target} HTTP/1.1`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ].join('\r\n');
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`${head}\r\n\r\n`);
      if (body !== '') socket.write(body);
    });
    socket.on('data', (chunk) => chunks.push(chunk));
    // The server may answer and close before it read all we sent: that is an answer too.
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') reject(error);
    });
    socket.on('close', () => {
      const raw = Buffer.concat(chunks);
      const split = raw.indexOf('\r\n\r\n');
      const text = raw.subarray(0, split === -1 ? raw.length : split).toString('latin1');
      const [statusLine = '', ...lines] = text.split('\r\n');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
      if (status === 0) {
        reject(
          new Error(`no HTTP answer to ${request.method} ${request.target}: ${JSON.stringify(text.slice(0, 200))}`),
        );
        return;
      }
      const responseHeaders: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        if (colon > 0) responseHeaders[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const rest = split === -1 ? Buffer.alloc(0) : raw.subarray(split + 4);
      const responseBody = responseHeaders['transfer-encoding'] === 'chunked' ? dechunk(rest) : rest;
      resolve({ status, headers: responseHeaders, body: responseBody.toString('utf8') });
    });
  });
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let rest = data;
  for (;;) {
    const lineEnd = rest.indexOf('\r\n');
    if (lineEnd === -1) break;
    const size = Number.parseInt(rest.subarray(0, lineEnd).toString('latin1'), 16);
    if (!size) break;
    parts.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size));
    rest = rest.subarray(lineEnd + 2 + size + 2);
  }
  return Buffer.concat(parts);
}
