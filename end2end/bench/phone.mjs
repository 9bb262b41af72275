#!/usr/bin/env node
// What a member's phone experiences on the Tablecard member pages.
//
// Drives Debian's Chromium through Playwright with a phone-sized context
// (zh-CN, 390x844 @2x, touch) on Lighthouse's "slow 4G" profile: 150 ms RTT,
// 1.6 Mbps down, 750 Kbps up, and the CPU slowed 4x. Each page is measured
// on a first visit (fresh context, empty cache) and a repeat visit (same
// context, warm cache). Per visit it records:
//   bytes         by kind (html, css, js, wasm, other, total), each as
//                 { compressed: bytes on the wire incl. headers,
//                   raw: decoded body bytes }; cache hits count as 0 bytes
//   requests      every request the page made (cache hits included)
//   cached_requests  how many of those came from the browser cache
//   lcp_ms        Largest Contentful Paint
//   hydrated_ms   navigation start -> first element with data-hydrated="true"
//                 (islands set it when their WebAssembly takes over)
//   cls           cumulative layout shift, read ~1 s after hydration
//   dom_content_loaded_ms, load_ms  from the navigation timing entry
// and on the card's first visit the WebAssembly linear memory size
// (wasm_heap_bytes) and the JS heap in use (js_heap_used_bytes).
//
// Budgets (judged by the caller, not here): member card first visit
// <= 200 KB compressed in total, LCP <= 1.5 s, hydrated <= 3 s, CLS <= 0.05.
//
// Usage: node end2end/bench/phone.mjs --base http://127.0.0.1:PORT \
//          --brand demo --cookie NAME=VALUE
// Prints one JSON document on stdout; progress goes to stderr.

import { chromium } from '@playwright/test';

const PROFILE = { down_kbps: 1638.4, up_kbps: 750, rtt_ms: 150, cpu_slowdown: 4 };
const CONDITIONS = {
  offline: false,
  latency: PROFILE.rtt_ms,
  downloadThroughput: (1.6 * 1024 * 1024) / 8,
  uploadThroughput: (750 * 1024) / 8,
};
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run'];
const CONTEXT = { locale: 'zh-CN', viewport: { width: 390, height: 844 }, isMobile: true,
  hasTouch: true, deviceScaleFactor: 2 };
const KINDS = ['html', 'css', 'js', 'wasm', 'other'];

// Installed before any page script: stamps window.__hydratedAt (ms since
// navigation start) the first time an island marks itself hydrated.
const HYDRATION_WATCH = () => {
  const check = () => {
    if (window.__hydratedAt === undefined && document.querySelector('[data-hydrated="true"]')) {
      window.__hydratedAt = performance.now();
    }
  };
  new MutationObserver(check).observe(document, { attributes: true, childList: true, subtree: true });
};

const log = (...a) => console.error('[phone]', ...a);
const round1 = (x) => (x == null ? null : Math.round(x * 10) / 10);

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i].startsWith('--') || argv[i + 1] === undefined) throw new Error(`bad argument: ${argv[i]}`);
    out[argv[i].slice(2)] = argv[i + 1];
  }
  for (const k of ['base', 'brand', 'cookie']) if (!out[k]) throw new Error(`missing --${k}`);
  const eq = out.cookie.indexOf('=');
  if (eq < 1) throw new Error('--cookie must be NAME=VALUE');
  out.base = out.base.replace(/\/$/, '');
  out.cookieName = out.cookie.slice(0, eq);
  out.cookieValue = out.cookie.slice(eq + 1);
  return out;
}

function kindOf(type, url, mime = '') {
  if (/\.wasm(\?|$)/.test(url) || mime.includes('wasm')) return 'wasm';
  if (type === 'Document') return 'html';
  if (type === 'Stylesheet' || mime === 'text/css') return 'css';
  if (type === 'Script' || mime.includes('javascript')) return 'js';
  return 'other';
}

// Collects per-request byte counts from one CDP session's Network events.
function watchNetwork(cdp) {
  let reqs = new Map();
  const get = (id) => reqs.get(id) ?? reqs.set(id, { raw: 0, wire: 0, done: false }).get(id);
  cdp.on('Network.requestWillBeSent', (e) => {
    if (e.request.url.startsWith('data:')) return;
    // A redirect reuses the requestId: count the hop as its own request.
    if (e.redirectResponse && reqs.has(e.requestId)) {
      const prev = reqs.get(e.requestId);
      reqs.set(`${e.requestId}#${reqs.size}`, { ...prev, wire: e.redirectResponse.encodedDataLength ?? 0, done: true });
      reqs.delete(e.requestId);
    }
    Object.assign(get(e.requestId), { url: e.request.url, type: e.type, done: false });
  });
  cdp.on('Network.requestServedFromCache', (e) => { if (reqs.has(e.requestId)) get(e.requestId).cached = true; });
  cdp.on('Network.responseReceived', (e) => {
    if (!reqs.has(e.requestId)) return;
    const r = get(e.requestId);
    Object.assign(r, { type: e.type, mime: e.response.mimeType });
    if (e.response.fromDiskCache || e.response.fromPrefetchCache || e.response.fromServiceWorker) r.cached = true;
  });
  cdp.on('Network.dataReceived', (e) => { if (reqs.has(e.requestId)) get(e.requestId).raw += e.dataLength; });
  cdp.on('Network.loadingFinished', (e) => {
    if (reqs.has(e.requestId)) Object.assign(get(e.requestId), { wire: e.encodedDataLength, done: true });
  });
  cdp.on('Network.loadingFailed', (e) => { if (reqs.has(e.requestId)) get(e.requestId).done = true; });
  return {
    reset() { reqs = new Map(); },
    inflight: () => [...reqs.values()].filter((r) => !r.done).length,
    wasmFetches: () => [...reqs.values()].filter((r) => kindOf(r.type, r.url, r.mime) === 'wasm').length,
    summary() {
      const bytes = Object.fromEntries([...KINDS, 'total'].map((k) => [k, { compressed: 0, raw: 0 }]));
      let cached = 0;
      for (const r of reqs.values()) {
        if (r.cached) { cached++; continue; }
        for (const k of [kindOf(r.type, r.url, r.mime), 'total']) {
          bytes[k].compressed += r.wire;
          bytes[k].raw += r.raw;
        }
      }
      return { bytes, requests: reqs.size, cached_requests: cached };
    },
  };
}

async function settleNetwork(net, page, quietMs = 500, maxMs = 10000) {
  const until = Date.now() + maxMs;
  let quietSince = Date.now();
  while (Date.now() < until) {
    if (net.inflight() > 0) quietSince = Date.now();
    else if (Date.now() - quietSince >= quietMs) return;
    await page.waitForTimeout(100);
  }
  log(`still ${net.inflight()} request(s) in flight after ${maxMs} ms; counting what arrived`);
}

async function visit(page, cdp, net, url, label) {
  net.reset();
  await cdp.send('Network.emulateNetworkConditions', CONDITIONS);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: PROFILE.cpu_slowdown });
  const resp = await page.goto(url, { waitUntil: 'load', timeout: 60000 });
  if (!resp || resp.status() !== 200) throw new Error(`${label}: ${url} answered ${resp?.status()}`);
  if (new URL(page.url()).pathname !== new URL(url).pathname) {
    throw new Error(`${label}: ${url} ended at ${page.url()} (signed out? check --cookie)`);
  }
  let hydrated = true;
  await page.waitForFunction(() => window.__hydratedAt !== undefined, null, { timeout: 30000 })
    .catch(() => { hydrated = false; log(`${label}: no data-hydrated="true" element within 30 s; hydrated_ms = null`); });
  await page.waitForTimeout(1000);
  await settleNetwork(net, page);
  const m = await page.evaluate(async () => {
    const entries = (type) => new Promise((resolve) => {
      new PerformanceObserver((list, obs) => { obs.disconnect(); resolve(list.getEntries()); })
        .observe({ type, buffered: true });
      setTimeout(() => resolve([]), 500); // no entries of that type at all
    });
    const lcp = await entries('largest-contentful-paint');
    const shifts = await entries('layout-shift');
    const nav = performance.getEntriesByType('navigation')[0];
    return {
      lcp_ms: lcp.length ? lcp[lcp.length - 1].startTime : null,
      hydrated_ms: window.__hydratedAt ?? null,
      cls: shifts.filter((s) => !s.hadRecentInput).reduce((a, s) => a + s.value, 0),
      dom_content_loaded_ms: nav?.domContentLoadedEventEnd ?? null,
      load_ms: nav?.loadEventEnd ?? null,
    };
  });
  const result = {
    ...net.summary(),
    lcp_ms: round1(m.lcp_ms),
    hydrated_ms: hydrated ? round1(m.hydrated_ms) : null,
    cls: Math.round(m.cls * 10000) / 10000,
    dom_content_loaded_ms: round1(m.dom_content_loaded_ms),
    load_ms: round1(m.load_ms),
  };
  log(`${label}: ${(result.bytes.total.compressed / 1024).toFixed(1)} KB on the wire, ` +
    `${result.requests} requests (${result.cached_requests} cached), LCP ${result.lcp_ms} ms, ` +
    `hydrated ${result.hydrated_ms} ms, CLS ${result.cls}`);
  return result;
}

// The page's wasm-bindgen glue is already initialised by the islands loader;
// calling its init again returns the existing exports, whose memory we size.
async function memory(page, cdp, net) {
  const before = net.wasmFetches();
  const wasm_heap_bytes = await page.evaluate(async () => {
    const src = document.querySelector('link[rel="modulepreload"][href*="/pkg/"]')?.href
      ?? document.documentElement.innerHTML.match(/\/pkg\/[^"'`\s]+\.js/)?.[0];
    if (!src) throw new Error('no /pkg/*.js module found in the page');
    const m = await import(new URL(src, location.href).href);
    return (await m.default()).memory.buffer.byteLength;
  });
  const { usedSize } = await cdp.send('Runtime.getHeapUsage');
  if (net.wasmFetches() !== before) {
    // A second instance, not the page's: its size would mean nothing.
    log('warning: sizing the wasm memory fetched the .wasm again; not reported');
    return { wasm_heap_bytes: null, js_heap_used_bytes: usedSize };
  }
  return { wasm_heap_bytes, js_heap_used_bytes: usedSize };
}

async function measurePage(browser, opts, { name, path, signedIn }) {
  const url = opts.base + path;
  const context = await browser.newContext(CONTEXT);
  try {
    if (signedIn) {
      await context.addCookies([{ name: opts.cookieName, value: opts.cookieValue, url: opts.base }]);
    }
    await context.addInitScript(HYDRATION_WATCH);
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    const net = watchNetwork(cdp);
    await cdp.send('Network.enable');
    const first = await visit(page, cdp, net, url, `${name} first`);
    if (name === 'card') Object.assign(first, await memory(page, cdp, net));
    const repeat = await visit(page, cdp, net, url, `${name} repeat`);
    return { name, path, first, repeat };
  } finally {
    await context.close();
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const r = `/r/${encodeURIComponent(opts.brand)}`;
  const pages = [
    { name: 'landing', path: r, signedIn: false },
    { name: 'join', path: `${r}/join`, signedIn: false },
    { name: 'card', path: `${r}/card`, signedIn: true },
    { name: 'wallet', path: `${r}/coupons`, signedIn: true },
    { name: 'feedback', path: `${r}/feedback`, signedIn: true },
  ];
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ARGS });
  try {
    const out = { profile: PROFILE, pages: [], chromium: browser.version() };
    for (const p of pages) {
      log(`measuring ${p.name} (${p.path})`);
      out.pages.push(await measurePage(browser, opts, p));
    }
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } finally {
    await browser.close();
  }
}

main().catch((err) => {
  console.error(`phone.mjs: ${err.message ?? err}`);
  process.exit(1);
});
