// tests/interop/import/login.mjs: stock Baileys logs into bin/wa-testserver
// with an auth folder skykeeper exported, and stays open through two
// keepalive rounds.
//
//   node login.mjs PORT AUTH_DIR
import makeWASocket, { useMultiFileAuthState } from '@whiskeysockets/baileys';

const [port, authDir] = process.argv.slice(2);
const logger = {
	level: 'silent', child() { return logger; },
	trace() {}, debug() {}, info() {}, warn() {}, error() {}, fatal() {},
};
const { state } = await useMultiFileAuthState(authDir);
const sock = makeWASocket({
	waWebSocketUrl: `ws://127.0.0.1:${port}/ws/chat`,
	auth: state, logger, keepAliveIntervalMs: 1000, connectTimeoutMs: 10000,
	defaultQueryTimeoutMs: 10000, printQRInTerminal: false,
	markOnlineOnConnect: false, syncFullHistory: false,
});
const t0 = Date.now();
const result = await new Promise((resolve) => {
	const timer = setTimeout(() => resolve({ ok: false, why: 'no open within 10 s' }), 10000);
	sock.ev.on('connection.update', (u) => {
		if (u.connection === 'open') {
			clearTimeout(timer);
			setTimeout(() => resolve({ ok: true, ms: Date.now() - t0 }), 2500);
		}
		if (u.connection === 'close') {
			clearTimeout(timer);
			resolve({ ok: false, why: `closed with ${u.lastDisconnect?.error?.output?.statusCode}` });
		}
	});
});
console.log(`${result.ok ? 'PASS' : 'FAIL'} Baileys logs in with the exported creds and stays open ` +
	`(${result.ok ? `open after ${result.ms - 2500} ms` : result.why})`);
sock.end(undefined);
process.exit(result.ok ? 0 : 1);
