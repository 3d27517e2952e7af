// bench/rec's load generator: npm's `loadtest` at a constant request rate (open loop).
//
// With `requestsPerSecond`, loadtest sends a request every 1000/rate ms from a drift-corrected
// timer whether or not earlier ones were answered (a new keep-alive client is opened when all are
// busy), so a slow server meets more load, not less: no coordinated omission. Each request's
// latency runs from the timer tick to the end of the response.
//
// This file only configures it: a random known user per request, the API key header, and every
// request's latency (in microseconds' precision) and status kept, so that bench/rec computes
// exact percentiles (loadtest's own summary floors to whole milliseconds; it is kept too).
//
// Usage: node run.mjs CONFIG.json OUTPUT.json
//   CONFIG: {"url": "...USERID...", "users": [...], "rate": 500, "seconds": 60,
//            "headers": {...}, "timeoutMs": 10000, "seed": 1}

import { readFileSync, writeFileSync } from 'node:fs'
import { cpuUsage, hrtime } from 'node:process'
import { loadTest } from 'loadtest'

const [configPath, outputPath] = process.argv.slice(2)
if (!configPath || !outputPath) {
  console.error('usage: node run.mjs CONFIG.json OUTPUT.json')
  process.exit(2)
}
const config = JSON.parse(readFileSync(configPath, 'utf8'))

// A small seeded generator (mulberry32), so that a run's user sequence is reproducible.
let state = (config.seed ?? 1) >>> 0
function random () {
  state = (state + 0x6d2b79f5) >>> 0
  let t = state
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const users = config.users
let sent = 0
function pickUser () {
  sent += 1
  return encodeURIComponent(users[Math.floor(random() * users.length)])
}

const latencies = []
const sentAtMs = [] // when each answered request was sent, ms after the start
const failedAtMs = [] // the same for requests that failed (status >= 400, timeout, error)
let origin = null
const statuses = {}
const errors = {}
let count = 0
// loadtest's own latency is whole milliseconds (a BigInt division); each request is stamped
// here when it is created (the timer tick that sends it) and read back when it completes.
function requestGenerator (options, params, request, callback) {
  const start = hrtime.bigint()
  if (origin === null) origin = start
  const req = request(params, callback)
  req.labels = { start }
  return req
}

function statusCallback (error, result) {
  count += 1
  if (result && result.labels && !error) {
    latencies.push(Number(hrtime.bigint() - result.labels.start) / 1e6)
    sentAtMs.push(Number(result.labels.start - origin) / 1e6)
  } else if (result && result.labels) {
    failedAtMs.push(Number(result.labels.start - origin) / 1e6)
  } else {
    failedAtMs.push(null) // a connection error without a response: when is not known here
  }
  const status = result ? String(result.statusCode) : 'none'
  statuses[status] = (statuses[status] || 0) + 1
  if (error) {
    const key = String(error).slice(0, 200)
    errors[key] = (errors[key] || 0) + 1
  }
}

const cpuBefore = cpuUsage()
const started = hrtime.bigint()
const summary = await loadTest({
  url: config.url,
  method: 'GET',
  headers: config.headers || {},
  requestsPerSecond: config.rate,
  maxSeconds: config.seconds,
  agentKeepAlive: true,
  timeout: config.timeoutMs ?? 10000,
  indexParamLiteral: 'USERID',
  indexParamCallback: pickUser,
  requestGenerator,
  statusCallback,
  quiet: true
})
const wallSeconds = Number(hrtime.bigint() - started) / 1e9
const cpu = cpuUsage(cpuBefore)

writeFileSync(outputPath, JSON.stringify({
  generator: 'loadtest',
  generatorVersion: JSON.parse(readFileSync(new URL('./node_modules/loadtest/package.json', import.meta.url))).version,
  node: process.version,
  targetRate: config.rate,
  seconds: config.seconds,
  wallSeconds,
  sent,
  callbacks: count,
  latenciesMs: latencies,
  sentAtMs,
  failedAtMs,
  statuses,
  errors,
  cpuSeconds: (cpu.user + cpu.system) / 1e6,
  loadtest: {
    totalRequests: summary.totalRequests,
    totalErrors: summary.totalErrors,
    effectiveRps: summary.effectiveRps,
    elapsedSeconds: summary.elapsedSeconds,
    meanLatencyMs: summary.meanLatencyMs,
    maxLatencyMs: summary.maxLatencyMs,
    percentiles: summary.percentiles,
    errorCodes: summary.errorCodes,
    clients: summary.clients
  }
}))
