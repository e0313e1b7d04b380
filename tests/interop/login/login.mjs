// tests/interop/login/login.mjs: stock Baileys (7.0.0-rc14, pinned in
// ../package.json) against bin/wa-testserver.  run.sh starts the server
// and makes the device; this script drives Baileys and the control
// interface and prints one PASS/FAIL line per check, then
// "login interop: N passed, M failed".  Exit 0 only when all passed.
//
//   node login.mjs PORT CONTROL_PORT AUTH_DIR SERVER_LOG DEVICE
import { readFileSync } from 'node:fs';
import makeWASocket, { useMultiFileAuthState } from '@whiskeysockets/baileys';

const [port, ctlPort, authDir, serverLog, device] = process.argv.slice(2);
const KEEPALIVE_MS = 1000;    // Baileys declares the link lost after this + 5 s of silence
let passed = 0, failed = 0;

const check = (ok, name, detail = '') => {
	if (ok) passed++; else failed++;
	console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ` (${detail})` : ''}`);
};

// Baileys' ILogger without pino: warnings and errors are kept so the test
// can look for query time-outs.
const logs = [];
const logger = {
	level: 'warn',
	child() { return logger; },
	trace() {}, debug() {}, info() {},
	warn(...a) { logs.push(['warn', JSON.stringify(a)]); },
	error(...a) { logs.push(['error', JSON.stringify(a)]); },
	fatal(...a) { logs.push(['fatal', JSON.stringify(a)]); },
};

const control = async (path, body) => {
	const r = await fetch(`http://127.0.0.1:${ctlPort}${path}`, body === undefined ? {} :
		{ method: 'POST', body: JSON.stringify(body) });
	return r.json();
};

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const { state } = await useMultiFileAuthState(authDir);

// One socket: resolves 'opened' with the time it took, 'closed' with the
// status code Baileys reports.
const connect = () => {
	const t0 = Date.now();
	let onOpen, onClose;
	const opened = new Promise((r) => { onOpen = r; });
	const closed = new Promise((r) => { onClose = r; });
	const sock = makeWASocket({
		waWebSocketUrl: `ws://127.0.0.1:${port}/ws/chat`,
		auth: state,
		logger,
		keepAliveIntervalMs: KEEPALIVE_MS,
		connectTimeoutMs: 10000,
		defaultQueryTimeoutMs: 10000,
		printQRInTerminal: false,
		markOnlineOnConnect: false,
		syncFullHistory: false,
	});
	sock.ev.on('connection.update', (u) => {
		if (u.connection === 'open') onOpen(Date.now() - t0);
		if (u.connection === 'close')
			onClose(u.lastDisconnect?.error?.output?.statusCode ?? -1);
	});
	return { sock, opened, closed };
};

const within = (p, ms, what) => Promise.race([p,
	sleep(ms).then(() => { throw new Error(`no ${what} within ${ms} ms`); })]);

const serverLines = () => readFileSync(serverLog, 'utf8').split('\n')
	.filter(Boolean).map((l) => JSON.parse(l));

// --- 1. login, open within 5 s, every query answered, three keepalives ---
{
	const { sock, opened, closed } = connect();
	let ms = -1;
	try { ms = await within(opened, 5000, 'open'); } catch (e) { }
	check(ms >= 0 && ms < 5000, 'reaches open within 5 s', `${ms} ms`);
	const st0 = await control('/status?brief=1');
	const pings0 = st0.pings_answered;
	let st1 = st0;
	for (let i = 0; i < 40 && st1.pings_answered - pings0 < 3; i++) {
		await sleep(KEEPALIVE_MS / 4);     // at most 10 s
		st1 = await control('/status?brief=1');
	}
	check(st1.pings_answered - pings0 >= 3, 'survives three keepalive rounds',
		`${st1.pings_answered - pings0} pings answered`);
	const conn = serverLines().filter((l) => l.dev === device).at(-1)?.conn;
	const lines = serverLines().filter((l) => l.conn === conn);
	const pings = lines.filter((l) => l.dir === 'in' && l.node.tag === 'iq' &&
		l.node.attrs.xmlns === 'w:p');
	check(pings.length >= 3, 'server log shows the keepalive pings', `${pings.length}`);
	const asked = lines.filter((l) => l.dir === 'in' && l.node.tag === 'iq' &&
		['get', 'set'].includes(l.node.attrs.type)).map((l) => l.node.attrs.id);
	const answered = new Set(lines.filter((l) => l.dir === 'out' && l.node.tag === 'iq' &&
		l.node.attrs.type === 'result').map((l) => l.node.attrs.id));
	const missing = asked.filter((id) => !answered.has(id));
	check(asked.length > 0 && missing.length === 0, 'every query Baileys sent was answered',
		`${asked.length} queries, unanswered: ${missing.join(',') || 'none'}`);
	const xmlns = [...new Set(lines.filter((l) => l.dir === 'in' && l.node.tag === 'iq')
		.map((l) => l.node.attrs.xmlns))].sort().join(',');
	console.log(`     queries seen: ${xmlns}`);
	const timeouts = logs.filter(([, t]) => /timed out|Timed Out|timeout/i.test(t));
	check(timeouts.length === 0, 'no query time-outs', timeouts.map(([, t]) => t).join('; ').slice(0, 200));
	let stillOpen = true;
	closed.then(() => { stillOpen = false; });
	await sleep(50);
	check(stillOpen, 'still connected after the keepalive rounds');
	sock.end(undefined);
	await within(closed, 3000, 'close').catch(() => {});
}

// --- 2. each fault, on a fresh socket, as Baileys reports it ------------
const faults = [
	{ name: 'replaced', want: 440, inject: { kind: 'replaced' } },
	{ name: '515 restart required', want: 515, inject: { kind: '515' } },
	{ name: '401 device_removed', want: 401, inject: { kind: 'device_removed' } },
	{ name: '503 unavailable', want: 503, inject: { kind: '503' } },
	{ name: 'silent', want: 408, policy: { silent: true }, wait: KEEPALIVE_MS + 5000 + 3000 },
	// beyond the brief: how Baileys names the other ways a server ends
	{ name: 'xmlstreamend', want: 428, inject: { kind: 'xmlstreamend' } },
	{ name: 'TCP close (FIN)', want: 428, inject: { kind: 'close' } },
	{ name: 'TCP reset (RST)', want: [408, 428], inject: { kind: 'reset' } },
];
for (const f of faults) {
	const { sock, opened, closed } = connect();
	try {
		await within(opened, 5000, 'open');
		const t0 = Date.now();
		const r = f.inject ? await control('/inject', { ...f.inject, device })
			: await control('/policy', { ...f.policy, device });
		const code = await within(closed, f.wait ?? 5000, 'close');
		const want = [f.want].flat();
		check(want.includes(code), `${f.name} -> Baileys reports ${want.join(' or ')}`,
			`got ${code} after ${Date.now() - t0} ms, server: ${JSON.stringify(r)}`);
	} catch (e) {
		check(false, `${f.name} -> Baileys reports ${f.want}`, e.message);
		sock.end(undefined);
	} finally {
		if (f.policy) await control('/clear', {});
	}
	await sleep(100);
}

const st = await control('/status?brief=1');
check(st.malformed === 0, 'server saw no malformed input', `malformed=${st.malformed}`);
console.log(`login interop: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
