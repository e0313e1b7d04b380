// tests/interop/pair/pair.mjs: stock Baileys (7.0.0-rc14, pinned in
// ../package.json) pairs with bin/wa-testserver playing the phone.  run.sh
// starts the server with an empty registry; this script drives Baileys and
// the control interface and prints one PASS/FAIL line per check, then
// "pair interop: N passed, M failed".  Exit 0 only when all passed.
//
//   node pair.mjs PORT CONTROL_PORT TMPDIR SERVER_LOG REGISTRY_TSV
//
// A  QR: empty auth state -> `qr` -> POST /pair-qr -> pair-success, the
//    device signature, 515 -> Baileys reconnects and logs in -> open.
// B  code: requestPairingCode(phone) -> a wrong code first (the server
//    says wrong_code, registers nothing) -> the right one -> open.
// C  faults: a corrupted pair-success (hmac, account-sig) -> Baileys
//    refuses it, never opens, the server registers nothing.
import { existsSync, readFileSync } from 'node:fs';
import makeWASocket, { useMultiFileAuthState } from '@whiskeysockets/baileys';

const [port, ctlPort, tmp, serverLog, registry] = process.argv.slice(2);
let passed = 0, failed = 0;

const check = (ok, name, detail = '') => {
	if (ok) passed++; else failed++;
	console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ` (${detail})` : ''}`);
};

const logs = [];
const logger = {
	level: 'info',
	child() { return logger; },
	trace() {}, debug() {},
	info(...a) { logs.push(['info', JSON.stringify(a)]); },
	warn(...a) { logs.push(['warn', JSON.stringify(a)]); },
	error(...a) { logs.push(['error', JSON.stringify(a)]); },
	fatal(...a) { logs.push(['fatal', JSON.stringify(a)]); },
};

const control = async (path, body) => {
	const r = await fetch(`http://127.0.0.1:${ctlPort}${path}`, body === undefined ? {} :
		{ method: 'POST', body: JSON.stringify(body) });
	return { status: r.status, ...(await r.json()) };
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const within = (p, ms, what) => Promise.race([p,
	sleep(ms).then(() => { throw new Error(`no ${what} within ${ms} ms`); })]);
const serverLines = () => readFileSync(serverLog, 'utf8').split('\n')
	.filter(Boolean).map((l) => JSON.parse(l));
const registered = () => existsSync(registry) ?
	readFileSync(registry, 'utf8').split('\n').filter((l) => l && !l.startsWith('#')) : [];

// One socket on `state`: promises for the first QR, open, and close (the
// status code Baileys reports).
const connect = (state) => {
	let onQr, onOpen, onClose;
	const qr = new Promise((r) => { onQr = r; });
	const opened = new Promise((r) => { onOpen = r; });
	const closed = new Promise((r) => { onClose = r; });
	const sock = makeWASocket({
		waWebSocketUrl: `ws://127.0.0.1:${port}/ws/chat`,
		auth: state,
		logger,
		connectTimeoutMs: 10000,
		defaultQueryTimeoutMs: 10000,
		printQRInTerminal: false,
		markOnlineOnConnect: false,
		syncFullHistory: false,
	});
	sock.ev.on('connection.update', (u) => {
		if (u.qr) onQr(u.qr);
		if (u.connection === 'open') onOpen(true);
		if (u.connection === 'close') {
			out.why = u.lastDisconnect?.error?.message;
			onClose(u.lastDisconnect?.error?.output?.statusCode ?? -1);
		}
	});
	const out = { sock, qr, opened, closed, why: '' };
	return out;
};

// A fresh companion: its own auth directory, nothing paired.
const fresh = async (name) => {
	const { state, saveCreds } = await useMultiFileAuthState(`${tmp}/${name}`);
	return { state, saveCreds };
};

// After pairing: the 515, then a new socket on the same state logs in.
const reconnects = async (label, state, s, wantJid) => {
	const code = await within(s.closed, 5000, 'close').catch(() => -1);
	check(code === 515, `${label}: Baileys gets 515 restart after pairing`, `got ${code} ${s.why}`);
	check(state.creds.me?.id === wantJid, `${label}: Baileys stored its new jid`,
		`${state.creds.me?.id}`);
	const again = connect(state);
	let ok = false;
	try { ok = await within(again.opened, 8000, 'open'); } catch (e) { }
	check(ok, `${label}: Baileys logs in again with the paired creds -> open`);
	again.sock.end(undefined);
	await within(again.closed, 3000, 'close').catch(() => {});
};

const pairLine = (conn, step) => serverLines().find((l) => l.dir === 'pair' &&
	l.conn === conn && l.step === step);

// --- A. QR --------------------------------------------------------------
{
	const { state, saveCreds } = await fresh('auth-qr');
	const s = connect(state);
	s.sock.ev.on('creds.update', saveCreds);
	let qr = null;
	try { qr = await within(s.qr, 5000, 'qr'); } catch (e) { }
	check(typeof qr === 'string' && qr.startsWith('https://wa.me/settings/linked_devices#'),
		'A: Baileys shows a QR for the registration', `${qr?.slice(0, 50)}…`);
	const st = await control('/pairings');
	check(st.pairings?.length === 1 && st.pairings[0].acked && st.pairings[0].refs === 3,
		'A: the server lists the pending pairing, pair-device acknowledged',
		JSON.stringify(st.pairings));
	// an unknown QR is refused, the real one is not touched
	const fields = (qr ?? '').split('#')[1]?.split(',') ?? [];
	const other = await control('/pair-qr', { qr: ['2@nosuchref', ...fields.slice(1)].join(',') });
	check(other.status === 404 && other.ok === false, 'A: a QR with an unknown ref -> 404',
		`${other.status} ${other.error}`);
	const junk = await control('/pair-qr', { qr: 'not a qr' });
	check(junk.status === 400, 'A: text that is no QR -> 400', `${junk.status} ${junk.error}`);
	const before = registered().length;
	const r = await control('/pair-qr', { qr });
	check(r.status === 200 && r.ok && r.registered && r.outcome === 'registered',
		'A: pair-qr -> registered', JSON.stringify(r));
	check(r.device === '15550009999:1' && r.device_signature === 'valid',
		'A: device 15550009999:1, the device signature verified', `${r.device} ${r.device_signature}`);
	check(registered().length === before + 1 &&
		registered().at(-1).startsWith('15550009999\t1\t'),
		'A: the registry holds the new device', registered().at(-1)?.slice(0, 40));
	const sign = pairLine(r.conn, 'pair-device-sign');
	check(sign?.info?.device_signature === 'valid', 'A: the stanza log shows the valid signature',
		JSON.stringify(sign?.info));
	await reconnects('A', state, s, '15550009999:1@s.whatsapp.net');
	const login = serverLines().some((l) => l.dev === '15550009999:1' && l.dir === 'out' &&
		l.node?.tag === 'success');
	check(login, 'A: the server logged the paired device in');
}

// --- B. pairing code ----------------------------------------------------
{
	const phone = '15550008888';
	const { state, saveCreds } = await fresh('auth-code');
	const s = connect(state);
	s.sock.ev.on('creds.update', saveCreds);
	let code = null;
	try {
		await within(s.qr, 5000, 'qr');
		code = await s.sock.requestPairingCode(phone);
	} catch (e) { console.log(`     ${e.message}`); }
	check(/^[1-9A-HJ-NP-TV-Z]{8}$/.test(code ?? ''), 'B: Baileys made a pairing code', code);
	let p = [];
	for (let i = 0; i < 30; i++) {       // at most 3 s
		p = (await control('/pairings')).pairings ?? [];
		if (p.some((x) => x.companion_hello)) break;
		await sleep(100);
	}
	const pend = p.find((x) => x.companion_hello);
	check(pend?.phone === phone, 'B: the server saw companion_hello for the phone',
		JSON.stringify(pend));
	// a wrong code: the key bundle does not open, nothing is registered
	const wrong = [...code ?? 'AAAAAAAA'].map((ch) => ch === 'Z' ? 'Y' : 'Z').join('');
	const before = registered().length;
	const w = await control('/pair-code', { code: `${wrong.slice(0, 4)}-${wrong.slice(4)}` });
	check(w.status === 200 && !w.ok && w.outcome === 'wrong_code' && !w.registered,
		'B: a wrong code -> wrong_code, not registered', JSON.stringify(w));
	check(registered().length === before, 'B: nothing registered after the wrong code');
	const r = await control('/pair-code', { code, conn: pend?.conn });
	check(r.status === 200 && r.ok && r.registered && r.method === 'code' &&
		r.device === `${phone}:1` && r.device_signature === 'valid',
		'B: the right code -> registered, signature verified', JSON.stringify(r));
	await reconnects('B', state, s, `${phone}:1@s.whatsapp.net`);
}

// --- C. corrupted pair-success --------------------------------------------
// hmac: Baileys checks the HMAC, refuses and hangs up.  account-sig: stock
// Baileys does not notice (its Curve.verify answers true for any
// signature), signs and replies; the server sees the bad signature in the
// reply, registers nothing and ends with 401 device_removed, and a login
// with those credentials is refused.
for (const [fault, outcome, want] of [['hmac', 'client_closed', null],
	['account-sig', 'accepted_fault', 401]]) {
	const { state } = await fresh(`auth-${fault}`);
	const s = connect(state);
	let opened = false;
	s.opened.then(() => { opened = true; });
	let qr = null;
	try { qr = await within(s.qr, 5000, 'qr'); } catch (e) { }
	const before = registered().length;
	const st0 = await control('/status?brief=1');
	const r = await control('/pair-qr', { qr, fault, phone: '15550007777' });
	check(r.status === 200 && !r.ok && !r.registered && r.fault === fault &&
		r.outcome === outcome, `C ${fault}: the attempt ends ${outcome}, not registered`,
		JSON.stringify(r));
	const code = await within(s.closed, 3000, 'close').catch(() => -1);
	await sleep(200);
	const st1 = await control('/status?brief=1');
	check(!opened && code !== 515 && (want === null ? !state.creds.me : code === want),
		`C ${fault}: Baileys does not open` + (want ? `, gets ${want}` : ', stores no identity'),
		`close ${code} ${s.why}`);
	check(registered().length === before && st1.paired === st0.paired,
		`C ${fault}: the server registered nothing`, `paired ${st0.paired} -> ${st1.paired}`);
	if (fault === 'hmac') {
		const why = logs.some(([, t]) => /error in pairing/.test(t) && /signature/i.test(t));
		check(why, 'C hmac: Baileys logged why it refused');
	} else {
		const again = connect(state);
		const c2 = await within(again.closed, 5000, 'close').catch(() => -1);
		check(c2 === 401, 'C account-sig: its login with those credentials is refused (401)',
			`close ${c2}`);
	}
}

const st = await control('/status?brief=1');
check(st.malformed === 0 && st.paired === 2 && st.registrations >= 4,
	'server: no malformed input, 2 devices paired', JSON.stringify({
		malformed: st.malformed, paired: st.paired, registrations: st.registrations,
		pair_failures: st.pair_failures }));
console.log(`pair interop: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
