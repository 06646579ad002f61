#!/usr/bin/env node
// Headless Chromium as a real WebRTC publisher on the Cloudflare Realtime API (push flow).
//
//   node chromium_rt_publisher.js --api http://127.0.0.1:PORT/v1 --app app1 --secret s1 \
//       --name carol --chromium WRAPPER [--codec vp8|h264] [--user-data-dir DIR]
//
// Node runs where the API is reachable (realtimeenv.py: the root namespace, 127.0.0.1)
// and starts Chromium through WRAPPER (realtimeenv's `ip netns exec NS /usr/bin/chromium`),
// driving it over the DevTools pipe with playwright-core (tests/janus/node_modules; never
// `playwright install`). The flags are those of shared/reference/test-environment.md.
//
// The page (inline) opens the fake camera and microphone, makes a sendonly
// RTCPeerConnection (max-bundle) and takes its offer once ICE gathering is complete.
// Node calls sessions/new, then tracks/new with the offer and one `location: local`
// track per transceiver (trackName NAME-video / NAME-audio, the transceivers' mids),
// and hands the answer to the page. Progress lines on stdout, like rt_publisher.py:
//   SESSION <id> | TRACKS <video> <audio> | PUBLISHED | CONNECTED | LEFT | FAILED <why>
// SIGTERM/SIGINT: tracks/close (force) for its tracks, close the browser, exit 0.
//
// --base URL sends the API calls to URL/<path> instead of API/apps/APP/<path>, without
// the bearer, keeping the cookies the answers set: the way a browser pushes through an
// Orange deployment's /partytracks proxy (which locks each session with a cookie).
'use strict';

const fs = require('fs');
const path = require('path');

const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-default-apps', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
];

function parseArgs(argv) {
  const a = { name: 'chromium', codec: '', userDataDir: '', chromium: '/usr/bin/chromium' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    if (k === '--api') a.api = v().replace(/\/+$/, '');
    else if (k === '--app') a.app = v();
    else if (k === '--secret') a.secret = v();
    else if (k === '--name') a.name = v();
    else if (k === '--codec') a.codec = v().toLowerCase();
    else if (k === '--chromium') a.chromium = v();
    else if (k === '--user-data-dir') a.userDataDir = v();
    else if (k === '--base') a.base = v().replace(/\/+$/, '');
    else throw new Error(`unknown argument ${k}`);
  }
  if (!a.api || !a.app || !a.secret) throw new Error('--api, --app and --secret are required');
  if (a.codec && !['vp8', 'h264'].includes(a.codec)) throw new Error('--codec must be vp8 or h264');
  return a;
}

const out = (line) => process.stdout.write(line + '\n');
const log = (msg) => process.stderr.write(`[chromium-rt ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>reel realtime publisher</title></head>
<body><script>
window.pub = {
  pc: null,
  async offer(codec) {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: true, video: { width: 640, height: 360, frameRate: 30 } });
    const pc = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
    this.pc = pc;
    const mids = [];
    for (const track of stream.getTracks()) {
      const tr = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream] });
      if (track.kind === 'video' && codec) {
        const want = 'video/' + codec;
        const codecs = RTCRtpSender.getCapabilities('video').codecs.filter((c) =>
          c.mimeType.toLowerCase() === want && (codec !== 'h264' || /packetization-mode=1/.test(c.sdpFmtpLine || '')));
        tr.setCodecPreferences(codecs);
      }
      mids.push([track.kind, tr]);
    }
    const gathered = new Promise((resolve) => {
      pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') resolve(); });
      setTimeout(resolve, 10000);
    });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered;
    return { sdp: pc.localDescription.sdp, mids: mids.map(([kind, tr]) => [kind, tr.mid]) };
  },
  async answer(sdp) { await this.pc.setRemoteDescription({ type: 'answer', sdp }); },
  state() { return this.pc ? this.pc.connectionState : 'none'; },
};
</script></body></html>`;

const cookies = new Map(); // --base: name -> value, as the answers set them

async function api(args, method, rel, body) {
  const headers = { 'Content-Type': 'application/json' };
  if (args.base) {
    if (cookies.size) headers.Cookie = [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  } else {
    headers.Authorization = `Bearer ${args.secret}`;
  }
  const url = args.base ? `${args.base}/${rel}` : `${args.api}/apps/${args.app}/${rel}`;
  const resp = await fetch(url, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30000),
  });
  for (const line of resp.headers.getSetCookie ? resp.headers.getSetCookie() : []) {
    const [pair] = line.split(';');
    const eq = pair.indexOf('=');
    if (eq > 0) cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
  }
  const json = await resp.json().catch(() => null);
  if (!resp.ok) throw new Error(`${method} ${rel}: HTTP ${resp.status} ${JSON.stringify(json)}`);
  return json;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  let chromium;
  try {
    ({ chromium } = require(path.join(__dirname, '..', 'janus', 'node_modules', 'playwright-core')));
  } catch (e) {
    throw new Error('playwright-core missing: run `npm ci` in tests/janus (scripts/install-deps.sh does)');
  }
  const userDataDir = args.userDataDir || fs.mkdtempSync('/tmp/reel-chromium-rt-');
  fs.mkdirSync(userDataDir, { recursive: true });
  let context = null;
  let sessionId = null;
  let localMids = [];
  let leaving = false;

  const finish = async (code, tell) => {
    if (leaving) return;
    leaving = true;
    if (tell && sessionId && localMids.length) {
      await api(args, 'PUT', `sessions/${sessionId}/tracks/close`,
        { tracks: localMids.map((mid) => ({ mid })), force: true }).catch((e) => log(`tracks/close: ${e.message}`));
    }
    if (context) await context.close().catch((e) => log(`browser close: ${e.message}`));
    if (code === 0) out('LEFT');
    process.exit(code);
  };
  process.on('SIGTERM', () => finish(0, true));
  process.on('SIGINT', () => finish(0, true));

  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: args.chromium, headless: true, args: FLAGS, chromiumSandbox: false,
      permissions: ['camera', 'microphone'], timeout: 30000,
    });
    const page = context.pages()[0] || await context.newPage();
    page.on('console', (m) => log(`page: ${m.text()}`));
    page.on('pageerror', (e) => log(`page error: ${e.message}`));
    // A trustworthy origin for getUserMedia: http://127.0.0.1/ answered by request
    // interception (nothing is fetched), then the page inline.
    await page.route('http://127.0.0.1/**', (route) => route.fulfill({
      status: 200, contentType: 'text/html', body: '<!doctype html><title>reel</title>' }));
    await page.goto('http://127.0.0.1/reel-realtime-publisher');
    await page.setContent(PAGE);

    sessionId = (await api(args, 'POST', 'sessions/new')).sessionId;
    out(`SESSION ${sessionId}`);
    const offer = await page.evaluate((codec) => window.pub.offer(codec), args.codec);
    if (!/a=candidate/.test(offer.sdp)) throw new Error(`Chromium's offer has no candidate:\n${offer.sdp}`);
    const names = { video: `${args.name}-video`, audio: `${args.name}-audio` };
    const tracks = offer.mids.map(([kind, mid]) => ({ location: 'local', mid, trackName: names[kind] }));
    const resp = await api(args, 'POST', `sessions/${sessionId}/tracks/new`,
      { sessionDescription: { type: 'offer', sdp: offer.sdp }, tracks });
    const bad = (resp.tracks || []).filter((t) => t.errorCode);
    if (bad.length) throw new Error(`tracks/new refused tracks: ${JSON.stringify(bad)}`);
    localMids = offer.mids.map(([, mid]) => mid);
    await page.evaluate((sdp) => window.pub.answer(sdp), resp.sessionDescription.sdp);
    out(`TRACKS ${names.video} ${names.audio}`);
    out('PUBLISHED');
    for (let i = 0; i < 300 && !leaving; i++) {
      const state = await page.evaluate(() => window.pub.state());
      if (state === 'connected') { out('CONNECTED'); break; }
      if (state === 'failed') throw new Error('the PeerConnection failed');
      await new Promise((r) => setTimeout(r, 100));
    }
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
