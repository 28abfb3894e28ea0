#!/usr/bin/env node
// A loopback HTTP proxy for benchmarks: holds each request for a fixed delay (a round trip to a distant
// service), then forwards it unchanged to the target, and counts what passes.
//
//   node bench/latency-proxy.js --port PORT --target http://127.0.0.1:S3PORT --delay-ms 25 [--control-port CPORT]
//
// GET http://127.0.0.1:CPORT/stats returns the counts since the last reset as JSON (requests by S3 operation,
// connections accepted, the most connections open at once); POST /reset zeroes them; PUT /delay?ms=N changes the
// delay. Prints `latency proxy listening on PORT` once it accepts requests. With --log FILE, appends one line per
// request as it ends, tab-separated: arrival and end (Unix time in ms), connection number, operation,
// status, and for listings the prefix and start-after: the timeline a profile of a run is read from.
'use strict';

const http = require('http');

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const port = Number(option('--port', '0'));
const controlPort = Number(option('--control-port', '0'));
const target = new URL(option('--target', 'http://127.0.0.1:4568'));
let delayMs = Number(option('--delay-ms', '25'));
const logPath = option('--log', null);
const log = logPath ? require('fs').createWriteStream(logPath, { flags: 'a' }) : null;
const sinceStart = () => performance.timeOrigin + performance.now();
let socketCount = 0;

const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
let stats;
const reset = () => {
  stats = { requests: 0, operations: {}, connections: 0, open: 0, peakOpen: 0, inFlight: 0, peakInFlight: 0 };
};
reset();

// The S3 operation a request is, as far as a benchmark cares.
function operation(request) {
  const url = new URL(request.url, 'http://x');
  const q = url.searchParams;
  const path = url.pathname.split('/').filter(Boolean);
  switch (request.method) {
    case 'GET':
      if (path.length <= 1) return q.get('list-type') === '2' ? (q.has('delimiter') ? 'ListObjectsV2+delimiter' : 'ListObjectsV2') : 'ListObjects';
      return 'GetObject';
    case 'HEAD': return path.length <= 1 ? 'HeadBucket' : 'HeadObject';
    case 'PUT': return request.headers['x-amz-copy-source'] ? 'CopyObject' : 'PutObject';
    case 'POST': return q.has('delete') ? 'DeleteObjects' : 'POST';
    case 'DELETE': return 'DeleteObject';
    default: return request.method;
  }
}

const proxy = http.createServer((request, response) => {
  const op = operation(request);
  stats.requests++;
  stats.operations[op] = (stats.operations[op] || 0) + 1;
  stats.inFlight++;
  stats.peakInFlight = Math.max(stats.peakInFlight, stats.inFlight);
  let done = false;
  const arrived = sinceStart();
  const finish = () => {
    if (!done) {
      done = true;
      stats.inFlight--;
      if (log) {
        const q = new URL(request.url, 'http://x').searchParams;
        const detail = op.startsWith('List') ? `${q.get('prefix') || ''}\t${q.get('start-after') || (q.has('continuation-token') ? '(continued)' : '')}` : '\t';
        log.write(`${arrived.toFixed(1)}\t${sinceStart().toFixed(1)}\t${request.socket.number}\t${op}\t${response.statusCode}\t${detail}\n`);
      }
    }
  };
  response.on('close', finish);
  const forward = () => {
    const upstream = http.request({
      host: target.hostname,
      port: target.port,
      method: request.method,
      path: request.url,
      headers: request.headers,
      agent,
    }, answer => {
      response.writeHead(answer.statusCode, answer.rawHeaders);
      answer.pipe(response);
    });
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  };
  if (delayMs > 0) setTimeout(forward, delayMs);
  else forward();
});
proxy.keepAliveTimeout = 60000;
proxy.on('connection', socket => {
  socket.number = ++socketCount;
  stats.connections++;
  stats.open++;
  stats.peakOpen = Math.max(stats.peakOpen, stats.open);
  socket.on('close', () => stats.open--);
});

const control = http.createServer((request, response) => {
  const url = new URL(request.url, 'http://x');
  if (request.method === 'POST' && url.pathname === '/reset') reset();
  if (request.method === 'PUT' && url.pathname === '/delay') delayMs = Number(url.searchParams.get('ms'));
  response.setHeader('content-type', 'application/json');
  response.end(JSON.stringify({ ...stats, delayMs }) + '\n');
});

proxy.listen(port, '127.0.0.1', () => {
  control.listen(controlPort, '127.0.0.1', () => {
    process.stdout.write(`latency proxy listening on ${proxy.address().port} control ${control.address().port}\n`);
  });
});
process.on('SIGTERM', () => process.exit(0));
