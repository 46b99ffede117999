// An OTLP/HTTP receiver for the tracing benchmark: takes each export request (protobuf or JSON),
// counts its spans and bytes, answers 200 and keeps nothing. GET /stats answers the counts. Run on
// CPU 1 (beside wrk and the upstream), so that it does not take CPU 0 from the gateway under test.
import { createServer } from 'node:http';

const stats = { requests: 0, bytes: 0, spans: 0 };
const SPAN_ID = '"spanId"';

/** Length-delimited fields `n` of one protobuf message (other wire types skipped). */
function fieldsOf(b, n) {
  const out = [];
  let o = 0;
  const varint = () => {
    let r = 0;
    for (let m = 1; ; m *= 128) {
      const x = b[o++];
      r += (x & 0x7f) * m;
      if (x < 0x80) return r;
    }
  };
  while (o < b.length) {
    const tag = varint();
    const wt = tag & 7;
    if (wt === 0) varint();
    else if (wt === 1) o += 8;
    else if (wt === 5) o += 4;
    else {
      const len = varint();
      if (tag >>> 3 === n) out.push(b.subarray(o, o + len));
      o += len;
    }
  }
  return out;
}
/** Spans in an ExportTraceServiceRequest: resource_spans (1) / scope_spans (2) / spans (2). */
function protoSpans(b) {
  let n = 0;
  for (const rs of fieldsOf(b, 1)) for (const ss of fieldsOf(rs, 2)) n += fieldsOf(ss, 2).length;
  return n;
}

createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
    return;
  }
  const proto = req.headers['content-type'] === 'application/x-protobuf';
  const chunks = [];
  let n = 0;
  const tail = { s: '' };
  req.on('data', (c) => {
    stats.bytes += c.length;
    if (proto) return void chunks.push(c);
    // span ids, counted across chunk boundaries; every span has one (parentSpanId ends in "SpanId")
    const text = tail.s + c.toString('latin1');
    for (let i = text.indexOf(SPAN_ID); i >= 0; i = text.indexOf(SPAN_ID, i + SPAN_ID.length)) n++;
    tail.s = text.slice(-(SPAN_ID.length - 1));
  });
  req.on('end', () => {
    stats.requests++;
    stats.spans += proto ? protoSpans(Buffer.concat(chunks)) : n;
    res.writeHead(200, { 'content-type': proto ? 'application/x-protobuf' : 'application/json' }).end(proto ? undefined : '{}');
  });
}).listen(Number(process.env.PORT), '127.0.0.1');
