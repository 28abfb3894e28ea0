#!/usr/bin/env node
// Starts s3rver (an S3-protocol server on the local filesystem) for Reclaim's integration tests.
//
//   node --openssl-legacy-provider tests/services/s3rver.js --port PORT --directory DIR [--bucket NAME]...
//        [--exit-on-stdin-close] [--verbose]
//
// Prints `s3rver listening on http://127.0.0.1:PORT` once it accepts requests (PORT 0 picks a free one and
// prints it). `--openssl-legacy-provider` is needed because s3rver's continuation tokens use DES.
//
// s3rver 3.7.1 differs from S3 in ways that matter to a garbage collector's tests; this launcher corrects them
// before s3rver sees a request, so the tests exercise the store against S3's documented behaviour:
//  1. AWSSDK.S3 4.x percent-encodes the whole `x-amz-copy-source` header (`bucket%2Fkey`); s3rver only
//     applies decodeURI, which leaves `%2F`, `%23`, `%3F`, `%2B`... encoded, so CopyObject fails (NoSuchBucket).
//  2. ListObjects walks folders in readdir order, so `a/x` comes before `a.b` and keys compare by UTF-16 code
//     unit; S3 lists in UTF-8 byte order. Listing without a delimiter is replaced by an ordered walk.
//  3. Keys with empty segments (`a//b`) do not match s3rver's routes, and were stored at the path of `a/b`
//     (path.join drops empty segments).
//  4. Deleting objects of one folder concurrently (DeleteObjects) raced on removing the emptied folder.
'use strict';

const fs = require('fs');
const path = require('path');
const http = require('http');
const { format } = require('util');
const S3rver = require('s3rver');
const FilesystemStore = require('s3rver/lib/stores/filesystem');
const S3Object = require('s3rver/lib/models/object');

const OBJECT_SUFFIX = '._S3rver_object';
// The folder name that stands for an empty key segment; a real key segment never carries s3rver's suffix marker.
const EMPTY_SEGMENT = '._S3rver_empty';

function parseArguments(argv) {
  const options = { port: 4568, directory: undefined, buckets: [], exitOnStdinClose: false, verbose: false };
  for (let i = 0; i < argv.length; i++) {
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${argv[i]} needs a value`);
      return argv[++i];
    };
    switch (argv[i]) {
      case '--port': options.port = Number.parseInt(value(), 10); break;
      case '--directory': options.directory = value(); break;
      case '--bucket': options.buckets.push(value()); break;
      case '--exit-on-stdin-close': options.exitOnStdinClose = true; break;
      case '--verbose': options.verbose = true; break;
      default: throw new Error(`unknown argument: ${argv[i]}`);
    }
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new Error('--port must be an integer from 0 to 65535');
  }
  if (!options.directory) throw new Error('--directory is required');
  return options;
}

// Quirk 1: decode the header fully, then re-encode it so that s3rver's decodeURI yields the exact key.
function normaliseCopySource(headers) {
  const raw = headers['x-amz-copy-source'];
  if (typeof raw !== 'string') return;
  let decoded;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return; // not percent-encoded text: leave it to s3rver to refuse
  }
  headers['x-amz-copy-source'] = encodeURI(decoded);
}

// Quirk 3: an empty segment in the URL path becomes `%2F`, which the router decodes back into the key's `//`.
// Signatures still match: s3rver signs the decoded key, not the URL.
function encodeEmptySegments(request) {
  const query = request.url.indexOf('?');
  const path = query < 0 ? request.url : request.url.slice(0, query);
  if (!path.includes('//')) return;
  request.url = path.replace(/\/\//g, '/%2F') + (query < 0 ? '' : request.url.slice(query));
}

// Quirk 3: one folder per key segment, with empty segments given a name of their own.
FilesystemStore.prototype.getResourcePath = function getResourcePath(bucket, key = '', resource) {
  const parts = FilesystemStore.encodeKeyPath(String(key)).split('/');
  const suffix = format('%s._S3rver_%s', parts.pop(), resource);
  const folders = parts.map(part => (part === '' ? EMPTY_SEGMENT : part));
  return path.join(this.rootDirectory, bucket, ...folders, suffix);
};

const utf8 = text => Buffer.from(text, 'utf8');
const byteOrder = (a, b) => Buffer.compare(utf8(a), utf8(b));

// Quirk 2: yields the keys under `folderKey` in UTF-8 byte order. A folder sorts as its name + '/', an object
// as its key segment, which is exactly where S3 puts their keys.
function* orderedKeys(folderPath, folderKey, prefix, startAfter) {
  let entries;
  try {
    entries = fs.readdirSync(folderPath, { withFileTypes: true });
  } catch (err) {
    if (err.code === 'ENOENT') return;
    throw err;
  }
  const items = [];
  for (const entry of entries) {
    if (entry.isDirectory()) {
      const segment = entry.name === EMPTY_SEGMENT ? '' : entry.name;
      items.push({ sortName: `${segment}/`, folder: entry.name, key: `${folderKey}${segment}/` });
    } else if (entry.name.endsWith(OBJECT_SUFFIX)) {
      const segment = entry.name.slice(0, -OBJECT_SUFFIX.length);
      items.push({ sortName: segment, key: folderKey + segment });
    }
  }
  items.sort((a, b) => byteOrder(a.sortName, b.sortName));
  for (const item of items) {
    if (item.folder === undefined) {
      if (item.key.startsWith(prefix) && byteOrder(item.key, startAfter) > 0) yield item.key;
      continue;
    }
    const intersectsPrefix = item.key.startsWith(prefix) || prefix.startsWith(item.key);
    // Every key in the folder starts with item.key; none comes after startAfter when item.key sorts before it
    // without being its prefix.
    const allBeforeStart = byteOrder(item.key, startAfter) < 0 && !startAfter.startsWith(item.key);
    if (intersectsPrefix && !allBeforeStart) {
      yield* orderedKeys(path.join(folderPath, item.folder), item.key, prefix, startAfter);
    }
  }
}

const listObjectsWithDelimiter = FilesystemStore.prototype.listObjects;
FilesystemStore.prototype.listObjects = async function listObjects(bucket, options) {
  const { delimiter = '', startAfter = '', prefix = '', maxKeys = Infinity } = options;
  if (delimiter) return listObjectsWithDelimiter.call(this, bucket, options);

  const keys = [];
  let isTruncated = false;
  for (const key of orderedKeys(this.getBucketPath(bucket), '', prefix, startAfter)) {
    if (keys.length === maxKeys) {
      isTruncated = true;
      break;
    }
    keys.push(key);
  }
  const objects = [];
  for (const key of keys) {
    try {
      objects.push({ key, metadata: await this.getMetadata(bucket, key) });
    } catch (err) {
      if (err.code !== 'ENOENT') throw err; // deleted while listed
    }
  }
  return {
    objects: objects.map(({ key, metadata }) => new S3Object(bucket, key, null, metadata)),
    commonPrefixes: [],
    isTruncated,
  };
};

// Quirk 4: remove the object's files, then the folders it left empty; another delete may get there first.
FilesystemStore.prototype.deleteObject = async function deleteObject(bucket, key) {
  const ignore = codes => err => {
    if (!codes.includes(err.code)) throw err;
  };
  await Promise.all(
    ['object', 'object.md5', 'metadata.json'].map(resource =>
      fs.promises.unlink(this.getResourcePath(bucket, key, resource)).catch(ignore(['ENOENT'])),
    ),
  );
  const bucketPath = this.getBucketPath(bucket);
  let folder = path.dirname(this.getResourcePath(bucket, key, 'object'));
  while (folder.startsWith(bucketPath + path.sep)) {
    try {
      await fs.promises.rmdir(folder);
    } catch (err) {
      ignore(['ENOENT', 'ENOTEMPTY', 'EEXIST'])(err);
      if (err.code !== 'ENOENT') return;
    }
    folder = path.dirname(folder);
  }
};

async function main() {
  const options = parseArguments(process.argv.slice(2));
  fs.mkdirSync(options.directory, { recursive: true });

  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port,
    directory: options.directory,
    silent: !options.verbose,
    configureBuckets: options.buckets.map(name => ({ name })),
  });
  await server.configureBuckets();

  const handle = server.callback();
  const httpServer = http.createServer((request, response) => {
    normaliseCopySource(request.headers);
    encodeEmptySegments(request);
    handle(request, response);
  });
  await new Promise((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(options.port, '127.0.0.1', resolve);
  });
  const { port } = httpServer.address();
  process.stdout.write(`s3rver listening on http://127.0.0.1:${port}\n`);

  const stop = () => httpServer.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  if (options.exitOnStdinClose) {
    // Started by a test process: when it goes away (even killed), its end of the pipe closes.
    process.stdin.on('end', stop);
    process.stdin.on('error', stop);
    process.stdin.resume();
  }
}

main().catch(err => {
  process.stderr.write(`s3rver failed to start: ${err && err.message ? err.message : err}\n`);
  process.exit(1);
});
