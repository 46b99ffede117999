// An OTLP/HTTP receiver for the tracing benchmark: takes each export request (JSON), counts its
// spans and bytes, answers 200 and keeps nothing. GET /stats answers the counts. Run on CPU 1
// (beside wrk and the upstream), so that it does not take CPU 0 from the gateway under test.
import { createServer } from 'node:http';

const stats = { requests: 0, bytes: 0, spans: 0 };
const SPAN_ID = '"spanId"';

createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(stats));
    return;
  }
  let n = 0;
  const tail = { s: '' };
  req.on('data', (c) => {
    stats.bytes += c.length;
    // span ids, counted across chunk boundaries; every span has one (parentSpanId ends in "SpanId")
    const text = tail.s + c.toString('latin1');
    for (let i = text.indexOf(SPAN_ID); i >= 0; i = text.indexOf(SPAN_ID, i + SPAN_ID.length)) n++;
    tail.s = text.slice(-(SPAN_ID.length - 1));
  });
  req.on('end', () => {
    stats.requests++;
    stats.spans += n;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
}).listen(Number(process.env.PORT), '127.0.0.1');
