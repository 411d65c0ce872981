// What a Node function of the library does at init: load the library. Prints how long the
// require took and the process's peak resident memory (KiB), as one JSON line.
const { performance } = require('perf_hooks');

const start = performance.now();
require('aws-lambda-stream');
const requireMs = performance.now() - start;
process.stdout.write(`${JSON.stringify({ require_ms: requireMs, rss_kib: process.resourceUsage().maxRSS })}\n`);
