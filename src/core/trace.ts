/**
 * The tracing seam of the kernel (docs/tracing.md). The pipeline asks the snapshot's recorder for
 * a request's trace when the request arrives, records the start and end of each stage it runs in
 * a flat array of numbers on the context, hands the upstream request its `traceparent`, and ends
 * the trace when the exchange is over; spans are made from those times after the fact (no
 * context propagation through the stages). With tracing off the recorder is null and the
 * pipeline does nothing but test for it. Implemented above the kernel, in src/observe/tracing/.
 */

/** In `Context.timings`, the stage index of the span that covers intake, client checks and routing. */
export const TIMING_INTAKE = -1;

/** One request's trace, as the pipeline drives it; `C` is the request context. */
export interface RequestTrace<C> {
  /** 32 lowercase hex digits: the trace this request belongs to (logged as `trace_id`) */
  readonly traceId: string;
  /** 16 lowercase hex digits: the gateway's span of this request (logged as `span_id`) */
  readonly spanId: string;
  /** the upstream exchange is about to start: sets `traceparent` (and `tracestate`) in the upstream request's headers */
  upstream(ctx: C): void;
  /** the exchange is over (`status` as the client got it, 499 when it left first): spans are made and ended */
  end(ctx: C, status: number): void;
}

/** Makes each request's trace; null for a request that is not traced at all. */
export interface TraceRecorder<C> {
  begin(ctx: C): RequestTrace<C> | null;
}
