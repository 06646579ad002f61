#!/usr/bin/env node
// Headless Chromium as a real, independent WebRTC publisher in a Janus VideoRoom.
//
//   ip netns exec reel-chr-PID node chromium_publisher.js --url http://198.18.0.2:8088/janus \
//       --room 1234 --name Carol [--codec vp8|h264] [--pin PIN] [--id FEED] [--user-data-dir DIR]
//
// Run it inside a network namespace that has only loopback and the test veth (JanusEnv's
// chromium namespace), so Chromium gathers candidates on nothing else. The browser is
// Debian's /usr/bin/chromium with the flags of shared/reference/test-environment.md, a
// fresh empty user-data dir, driven by playwright-core (never `playwright install`).
//
// The page (inline, page.setContent: no web server) opens the fake camera and the fake
// microphone and makes a sendonly RTCPeerConnection; its offer is taken once ICE
// gathering is complete (no trickle). Node speaks the Janus HTTP API (create, attach,
// join as publisher, publish with the offer, long-poll for the answer, keepalive) and
// hands the answer to the page. Progress lines on stdout, like publisher.py:
//   JOINED <feed id> | PUBLISHED | WEBRTCUP | MEDIA audio|video | LEFT | LOST <why> | FAILED <why>
// SIGTERM/SIGINT: unpublish, leave, detach, destroy, close the browser, exit 0.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-default-apps', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
];

function parseArgs(argv) {
  const a = { room: 1234, name: 'chromium', codec: '', pin: '', id: 0, duration: 0, userDataDir: '' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    if (k === '--url') a.url = v().replace(/\/+$/, '');
    else if (k === '--room') a.room = parseInt(v(), 10);
    else if (k === '--name') a.name = v();
    else if (k === '--codec') a.codec = v().toLowerCase();
    else if (k === '--pin') a.pin = v();
    else if (k === '--id') a.id = Number(v());
    else if (k === '--duration') a.duration = parseFloat(v());
    else if (k === '--user-data-dir') a.userDataDir = v();
    else throw new Error(`unknown argument ${k}`);
  }
  if (!a.url || !/^http:\/\//.test(a.url)) throw new Error('--url http://HOST:PORT/janus is required');
  if (a.codec && !['vp8', 'h264'].includes(a.codec)) throw new Error('--codec must be vp8 or h264');
  return a;
}

const out = (line) => process.stdout.write(line + '\n');
const log = (msg) => process.stderr.write(`[chromium-publisher ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------
// The page: fake camera + microphone, sendonly PeerConnection, non-trickle offer.

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>reel janus publisher</title></head>
<body><video id="v" autoplay muted playsinline></video>
<script>
window.pub = {
  pc: null,
  async offer(codec) {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: true, video: { width: 640, height: 360, frameRate: 30 } });
    document.getElementById('v').srcObject = stream;
    const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
    this.pc = pc;
    for (const track of stream.getTracks()) {
      const tr = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      if (track.kind === 'video' && codec) {
        // Offer only the asked codec (plus rtx/red/fec): Janus picks the room's first
        // codec the offer has, whatever the order.
        const all = RTCRtpSender.getCapabilities('video').codecs;
        const keep = all.filter((c) => {
          const m = c.mimeType.toLowerCase();
          if (m === 'video/' + codec) {
            return codec !== 'h264' || /packetization-mode=1/.test(c.sdpFmtpLine || '');
          }
          return ['video/rtx', 'video/red', 'video/ulpfec'].includes(m);
        });
        tr.setCodecPreferences(keep);
      }
    }
    const done = new Promise((resolve) => {
      const check = () => { if (pc.iceGatheringState === 'complete') resolve(); };
      pc.addEventListener('icegatheringstatechange', check);
      setTimeout(resolve, 10000);
    });
    await pc.setLocalDescription(await pc.createOffer());
    await done;
    return pc.localDescription.sdp;
  },
  async answer(sdp) {
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
  },
  state() {
    return this.pc ? { ice: this.pc.iceConnectionState, connection: this.pc.connectionState } : null;
  },
  close() { if (this.pc) this.pc.close(); },
};
</script></body></html>`;

// ---------------------------------------------------------------------------------------
// Janus HTTP API

class Janus {
  constructor(url) {
    this.url = url;
    this.tx = 0;
    this.session = null;
    this.handle = null;
    this.closing = false;
    this.waiters = [];
    this.backlog = [];
    this.onEvent = () => {};
    this.lostHandler = () => {};
  }

  async post(url, body, timeoutMs = 10000) {
    body = Object.assign({ transaction: `c${++this.tx}` }, body);
    const resp = await fetch(url, {
      method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (!resp.ok) throw new Error(`POST ${url}: HTTP ${resp.status}`);
    const json = await resp.json();
    if (json.janus === 'error') throw new Error(`janus error ${json.error && json.error.code}: ${json.error && json.error.reason}`);
    const data = json.plugindata && json.plugindata.data;
    if (data && data.error_code) throw new Error(`videoroom error ${data.error_code}: ${data.error}`);
    return json;
  }

  get sessionUrl() { return `${this.url}/${this.session}`; }
  get handleUrl() { return `${this.url}/${this.session}/${this.handle}`; }

  async start() {
    this.session = (await this.post(this.url, { janus: 'create' })).data.id;
    this.handle = (await this.post(this.sessionUrl, { janus: 'attach', plugin: 'janus.plugin.videoroom' })).data.id;
    this.poll();
    this.keepalive = setInterval(() => {
      this.post(this.sessionUrl, { janus: 'keepalive' }, 5000).catch((e) => log(`keepalive: ${e.message}`));
    }, 20000);
  }

  message(body, jsep, timeoutMs) {
    const msg = { janus: 'message', body };
    if (jsep) msg.jsep = jsep;
    return this.post(this.handleUrl, msg, timeoutMs);
  }

  async poll() {
    let lastOk = Date.now();
    while (!this.closing) {
      let events;
      try {
        const resp = await fetch(`${this.sessionUrl}?maxev=10&rid=${Date.now()}`, { signal: AbortSignal.timeout(45000) });
        if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
        events = await resp.json();
        lastOk = Date.now();
      } catch (e) {
        if (this.closing) return;
        log(`long-poll: ${e.message}`);
        if (Date.now() - lastOk > 3000) { this.lostHandler(e.message); return; }
        await sleep(500);
        continue;
      }
      for (const ev of Array.isArray(events) ? events : [events]) {
        if (ev.janus === 'keepalive') continue;
        if (ev.janus === 'error' && ev.error && ev.error.code === 458) { this.lostHandler('session gone'); return; }
        this.onEvent(ev);
        this.backlog.push(ev);
      }
      this.flush();
    }
  }

  flush() {
    for (const w of [...this.waiters]) {
      const i = this.backlog.findIndex(w.pred);
      if (i >= 0) {
        const [ev] = this.backlog.splice(i, 1);
        clearTimeout(w.timer);
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(ev);
        continue;
      }
      const err = this.backlog.find((e) => e.plugindata && e.plugindata.data && e.plugindata.data.error_code);
      if (err) {
        this.backlog.splice(this.backlog.indexOf(err), 1);
        clearTimeout(w.timer);
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.reject(new Error(`videoroom error ${err.plugindata.data.error_code}: ${err.plugindata.data.error}`));
      }
    }
  }

  waitEvent(pred, what, timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      const w = { pred, resolve, reject };
      w.timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        reject(new Error(`no ${what} from Janus within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.push(w);
      this.flush();
    });
  }

  async close(tell) {
    this.closing = true;
    clearInterval(this.keepalive);
    if (!tell || this.session === null) return;
    for (const body of [{ request: 'unpublish' }, { request: 'leave' }]) {
      await this.message(body, null, 2000).catch((e) => log(`${body.request}: ${e.message}`));
    }
    if (this.handle !== null) await this.post(this.handleUrl, { janus: 'detach' }, 2000).catch((e) => log(`detach: ${e.message}`));
    await this.post(this.sessionUrl, { janus: 'destroy' }, 2000).catch((e) => log(`destroy: ${e.message}`));
  }
}

// ---------------------------------------------------------------------------------------

async function main() {
  const args = parseArgs(process.argv.slice(2));
  let chromium;
  try {
    ({ chromium } = require('playwright-core'));
  } catch (e) {
    throw new Error(`playwright-core missing: run \`npm ci\` in ${__dirname} (scripts/install-deps.sh does)`);
  }
  const ownDir = !args.userDataDir;
  const userDataDir = args.userDataDir || fs.mkdtempSync(path.join(os.tmpdir(), 'reel-chromium-'));
  fs.mkdirSync(userDataDir, { recursive: true });
  if (fs.readdirSync(userDataDir).length) throw new Error(`--user-data-dir ${userDataDir} is not empty`);

  let context = null;
  const janus = new Janus(args.url);
  let leaving = false;
  const seen = new Set();

  const finish = async (code, tell) => {
    if (leaving) return;
    leaving = true;
    try { await janus.close(tell); } catch (e) { log(`close: ${e.message}`); }
    if (context) await context.close().catch((e) => log(`browser close: ${e.message}`));
    if (ownDir) fs.rmSync(userDataDir, { recursive: true, force: true });
    if (code === 0) out('LEFT');
    process.exit(code);
  };
  process.on('SIGTERM', () => finish(0, true));
  process.on('SIGINT', () => finish(0, true));

  janus.onEvent = (ev) => {
    if (ev.janus === 'webrtcup') out('WEBRTCUP');
    else if (ev.janus === 'media' && ev.receiving && !seen.has(ev.type)) { seen.add(ev.type); out(`MEDIA ${ev.type}`); }
    else if (ev.janus === 'hangup') log(`Janus hung up: ${ev.reason}`);
  };
  janus.lostHandler = (why) => {
    if (leaving) return;
    out(`LOST ${why}`);
    finish(3, false);
  };

  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM, headless: true, args: FLAGS, chromiumSandbox: false,
      permissions: ['camera', 'microphone'], timeout: 30000,
    });
    const page = context.pages()[0] || await context.newPage();
    page.on('console', (m) => log(`page: ${m.text()}`));
    page.on('pageerror', (e) => log(`page error: ${e.message}`));
    // about:blank has an opaque origin and is no secure context here (no mediaDevices).
    // Give the page a trustworthy origin first: http://127.0.0.1/ answered by Playwright's
    // request interception (nothing is fetched, no server), then set the content inline.
    await page.route('http://127.0.0.1/**', (route) => route.fulfill({
      status: 200, contentType: 'text/html', body: '<!doctype html><title>reel</title>' }));
    await page.goto('http://127.0.0.1/reel-janus-publisher');
    await page.setContent(PAGE);
    if (!(await page.evaluate(() => window.isSecureContext && !!navigator.mediaDevices))) {
      throw new Error('the page is not a secure context: no getUserMedia');
    }

    await janus.start();
    const join = { request: 'join', ptype: 'publisher', room: args.room, display: args.name };
    if (args.pin) join.pin = args.pin;
    if (args.id) join.id = args.id;
    await janus.message(join);
    const joined = await janus.waitEvent((e) => e.plugindata && e.plugindata.data && e.plugindata.data.videoroom === 'joined', 'joined');
    out(`JOINED ${joined.plugindata.data.id}`);

    const sdp = await page.evaluate((codec) => window.pub.offer(codec), args.codec);
    if (!/a=candidate/.test(sdp)) throw new Error(`Chromium's offer has no candidate:\n${sdp}`);
    await janus.message({ request: 'publish', display: args.name }, { type: 'offer', sdp });
    const ev = await janus.waitEvent((e) => e.jsep && e.jsep.type === 'answer', 'the answer to publish');
    await page.evaluate((answer) => window.pub.answer(answer), ev.jsep.sdp);
    out('PUBLISHED');
    if (args.duration > 0) setTimeout(() => finish(0, true), args.duration * 1000);
  } catch (e) {
    log(`setup failed: ${e.stack || e.message}`);
    out(`FAILED ${e.message.split('\n')[0]}`);
    await finish(2, true);
  }
}

main().catch((e) => {
  log(e.stack || e.message);
  out(`FAILED ${e.message}`);
  process.exit(2);
});
