import type { QueryEvent } from '@roster/db';
import type { FastifyInstance, FastifyRequest } from 'fastify';

// OpenTelemetry traces, only when OTEL_EXPORTER_OTLP_ENDPOINT is set: a span
// for each request and, inside it, one for each SQL statement (its text with
// placeholders, never its values). Without the setting nothing of
// OpenTelemetry is even loaded, so tracing costs nothing.

export type Tracing = {
  /** For createDb({ onQuery }): a span for the statement, child of the request's. */
  onQuery(query: QueryEvent): void;
  /** Request spans, from the hooks of the app. */
  register(app: FastifyInstance, procedureOf: (request: FastifyRequest) => string): void;
  /** Sends what is buffered and stops. */
  shutdown(): Promise<void>;
};

export type TracingOptions = {
  /** OTEL_EXPORTER_OTLP_ENDPOINT, e.g. http://collector:4318 (spans go to its /v1/traces, as OTLP/HTTP JSON). */
  endpoint: string;
  serviceName: string;
  version: string;
  /** Sent at once rather than in batches (tests). */
  immediate?: boolean;
};

export async function startTracing(options: TracingOptions): Promise<Tracing> {
  const api = await import('@opentelemetry/api');
  const { NodeTracerProvider, BatchSpanProcessor, SimpleSpanProcessor } = await import('@opentelemetry/sdk-trace-node');
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
  const { resourceFromAttributes } = await import('@opentelemetry/resources');

  const exporter = new OTLPTraceExporter({ url: `${options.endpoint.replace(/\/+$/, '')}/v1/traces` });
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName, 'service.version': options.version }),
    spanProcessors: [options.immediate ? new SimpleSpanProcessor(exporter) : new BatchSpanProcessor(exporter)],
  });
  // The AsyncLocalStorage context manager: a statement's span finds its request's.
  provider.register();
  const tracer = provider.getTracer('roster', options.version);
  const spans = new WeakMap<FastifyRequest, import('@opentelemetry/api').Span>();

  return {
    onQuery(query) {
      const end = Date.now();
      const verb = /^\s*(\w+)/.exec(query.sql)?.[1]?.toUpperCase() ?? 'SQL';
      const span = tracer.startSpan(
        verb,
        {
          kind: api.SpanKind.CLIENT,
          startTime: end - query.durationMs,
          attributes: { 'db.system': 'postgresql', 'db.statement': query.sql.slice(0, 4000) },
        },
        api.context.active(),
      );
      if (query.failed) span.setStatus({ code: api.SpanStatusCode.ERROR });
      span.end(end);
    },
    register(app, procedureOf) {
      app.addHook('onRequest', (request, _reply, done) => {
        const span = tracer.startSpan(`${request.method} ${procedureOf(request)}`, {
          kind: api.SpanKind.SERVER,
          attributes: {
            'http.request.method': request.method,
            'url.path': request.url.split('?')[0] ?? '',
            'roster.request_id': request.id,
          },
        });
        spans.set(request, span);
        // The rest of the request runs in the span's context, so its statements are its children.
        api.context.with(api.trace.setSpan(api.context.active(), span), done);
      });
      app.addHook('onResponse', (request, reply, done) => {
        const span = spans.get(request);
        if (span) {
          span.setAttribute('http.response.status_code', reply.statusCode);
          if (reply.statusCode >= 500) span.setStatus({ code: api.SpanStatusCode.ERROR });
          span.end();
        }
        done();
      });
    },
    async shutdown() {
      await provider.shutdown();
    },
  };
}
