// tests/interop/codec/codec.mjs: the differential test of our binary node
// codec (src/wa/node*.c) against stock Baileys' (npm @whiskeysockets/baileys
// 7.0.0-rc14, lib/WABinary).  run.sh builds wa-nodecat and calls this.
//
//   node codec.mjs NODECAT [SEED] [COUNT]
//
// 1. Baileys -> ours: COUNT random nodes (seeded PRNG) encoded by Baileys'
//    encodeBinaryNode, some deflated (flag 0x02), some with FB_JID and
//    INTEROP_JID strings spliced in (Baileys' encoder never writes those:
//    the parts are written with its encoder, the splice is ours).  Baileys
//    decodes each frame and renders it; wa-nodecat decodes the same frame
//    and must render the same text.  Where Baileys' encoder keeps its own
//    decoded node (re-encoding gives the same node back), our encoder must
//    also give the very same bytes as Baileys' for that node.
// 2. ours -> Baileys: wa-nodecat generates COUNT random nodes, encodes
//    them and renders them; Baileys decodes our bytes and must render the
//    same text; again our bytes must equal Baileys' re-encoding wherever
//    that is stable.
// 3. The token tables in src/wa/tokens.c equal Baileys' constants.
//
// The canonical rendering is defined in wa-nodecat.c.  Nothing here uses
// the network.  Exit 0 only when everything matched.
import { spawnSync } from 'node:child_process';
import { deflateSync } from 'node:zlib';
import { encodeBinaryNode } from '@whiskeysockets/baileys/lib/WABinary/encode.js';
import { decodeBinaryNode } from '@whiskeysockets/baileys/lib/WABinary/decode.js';
import * as C from '@whiskeysockets/baileys/lib/WABinary/constants.js';

const [nodecat, seedArg = '20240601', countArg = '2000'] = process.argv.slice(2);
if (!nodecat) {
	console.error('usage: node codec.mjs NODECAT [SEED] [COUNT]');
	process.exit(2);
}
const SEED = Number(seedArg) >>> 0;
const COUNT = Number(countArg);

function run(args, input) {
	const r = spawnSync(nodecat, args, { input, maxBuffer: 1 << 30 });
	if (r.status !== 0) {
		console.error(`codec: ${nodecat} ${args.join(' ')}: exit ${r.status}\n` +
		    String(r.stderr));
		process.exit(1);
	}
	return r.stdout.toString('latin1');
}

// --- canonical rendering (same definition as wa-nodecat.c) ---------------
function str(s) {
	let o = '"';
	for (const c of Buffer.from(s, 'utf8')) {
		o += c >= 0x20 && c <= 0x7e && c !== 0x22 && c !== 0x5c ?
		    String.fromCharCode(c) : '\\x' + c.toString(16).padStart(2, '0');
	}
	return o + '"';
}

function canon(n) {
	const keys = Object.keys(n.attrs).sort((a, b) =>
	    Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
	let o = '(' + str(n.tag) + ' {' +
	    keys.map(k => str(k) + '=' + str(n.attrs[k])).join(',') + '}';
	const c = n.content;
	if (Array.isArray(c))
		o += ' [' + c.map(canon).join(',') + ']';
	else if (c instanceof Uint8Array)
		o += ' b:' + Buffer.from(c).toString('hex');
	else if (typeof c === 'string')
		o += ' s:' + str(c);
	else if (c !== undefined)
		throw new Error('unexpected content ' + typeof c);
	return o + ')';
}

// --- seeded PRNG (mulberry32) ----------------------------------------------
let rs = SEED;
function rnd() {
	rs = (rs + 0x6D2B79F5) >>> 0;
	let t = rs;
	t = Math.imul(t ^ (t >>> 15), t | 1);
	t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
	return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const below = n => Math.floor(rnd() * n);
const chance = p => rnd() * 100 < p;
const pick = a => a[below(a.length)];
const chars = (alpha, n) => Array.from({ length: n }, () => pick(alpha)).join('');

// Property names of Object.prototype: Baileys' TOKEN_MAP is a plain object,
// so its encoder writes byte 0 for these (a Baileys bug, left alone here).
const avoid = s => s in Object.prototype || s === '__proto__';

const TEXT = ['a', 'b', 'z', 'Q', ' ', '!', '"', '\\', '_', ':', '-', '.',
    'é', 'ß', '中', '文', '😀', '\t', '\n', '~', '0', '7'];
const SERVERS = ['s.whatsapp.net', 'lid', 'hosted', 'hosted.lid', 'g.us',
    'broadcast', 'newsletter', 'c.us', 'call', 'bot', 'msgr', 'interop',
    'example.com'];

function user() {
	switch (below(5)) {
	case 0: return chars('0123456789', 1 + below(15));
	case 1: return pick(C.SINGLE_BYTE_TOKENS.slice(1));
	case 2: return chars('abcdefghijklmnopqrstuvwxyz', 1 + below(10));
	case 3: return '';
	default: return chars('0123456789ABCDEF', 1 + below(20));
	}
}

function jid(depth) {
	const srv = pick(SERVERS);
	switch (below(7)) {
	case 0: case 1: return user() + '@' + srv;
	case 2: case 3: return user() + ':' + (chance(80) ? 1 + below(255) :
	    below(70000)) + '@' + srv;
	case 4: return user() + '_' + below(200) +
	    (chance(50) ? ':' + below(300) : '') + '@' + srv;
	case 5: return user() + '@' + (depth < 3 ? jid(depth + 1) : srv);
	default: return pick([user() + ':@lid', user() + ':007@lid',
	    user() + ':1:2@s.whatsapp.net', user() + ':0@s.whatsapp.net']);
	}
}

// Strings that are spliced in as FB_JID / INTEROP_JID after encoding.
let splices = [];
function special() {
	const ph = '\u00a7PH' + splices.length + '\u00a7';
	if (chance(50))
		splices.push({ ph, fb: [user(), below(65536), pick(['msgr', 'lid', 'x'])] });
	else
		splices.push({ ph, interop: [user(), below(65536), below(65536),
		    chance(80) ? 'interop' : pick(['msgr', 'x'])] });
	return ph;
}

function anyString(depth = 0) {
	const k = below(100);
	let s;
	if (k < 20) s = pick(C.SINGLE_BYTE_TOKENS.slice(1));
	else if (k < 32) s = pick(pick(C.DOUBLE_BYTE_TOKENS));
	else if (k < 42) s = chars('0123456789-.', chance(10) ? 126 + below(3) : 1 + below(30));
	else if (k < 50) s = chars('0123456789ABCDEF', chance(10) ? 126 + below(3) : 1 + below(40));
	else if (k < 53) s = chars('0123456789abcdef', 1 + below(40));
	else if (k < 68) s = jid(depth);
	else if (k < 72) s = special();
	else if (k < 76) s = '';
	else if (k < 97) s = chars(TEXT, 1 + below(40));
	else if (k < 99 || !bigOk) s = chars(TEXT, 250 + below(20));
	else s = chars('xyz', 300 + below(5000));
	return avoid(s) ? anyString(depth) : s;
}

let bigOk = true;
function randBytes(n) {
	const b = Buffer.alloc(n);
	for (let i = 0; i < n; i++)
		b[i] = below(256);
	return b;
}

function genNode(depth, maxDepth, chain) {
	let tag;
	do tag = anyString(); while (tag === '');
	const attrs = {};
	const nattrs = bigOk && chance(2) ? 120 + below(20) : below(6);
	for (let i = 0; i < nattrs; i++)
		attrs[anyString()] = anyString();
	const node = { tag, attrs };
	const k = below(100);
	if (chain && depth < 64) {
		node.content = [genNode(depth + 1, maxDepth, chain)];
	} else if (depth < maxDepth && k < 35) {
		const kids = bigOk && chance(3) ? 256 + below(50) : below(5);
		const was = bigOk;
		if (kids > 8)
			bigOk = false;
		node.content = [];
		for (let i = 0; i < kids; i++)
			node.content.push(genNode(depth + 1, kids > 8 ? depth + 1 : maxDepth, false));
		bigOk = was;
	} else if (k < 60) {
		node.content = randBytes(bigOk && chance(8) ? 256 + below(5000) : below(300));
	} else if (k < 80) {
		node.content = anyString();
	}
	return node;
}

// writeString's bytes, from Baileys' encoder: frame 00, LIST_8 1, then the
// tag written as a string.
function ws(s) {
	return s === '' ? Buffer.from([0xfc, 0]) : encodeBinaryNode({ tag: s, attrs: {} }).subarray(3);
}
const u16 = v => Buffer.from([v >> 8, v & 0xff]);

function splice(frame) {
	for (const sp of splices) {
		const ph = Buffer.from(sp.ph, 'utf8');
		const needle = Buffer.concat([Buffer.from([0xfc, ph.length]), ph]);
		let at;
		while ((at = frame.indexOf(needle)) >= 0) {
			let rep;
			if (sp.fb) {
				const [u, d, s] = sp.fb;
				rep = Buffer.concat([Buffer.from([0xf6]), ws(u), u16(d), ws(s)]);
			} else {
				const [u, d, i, s] = sp.interop;
				// no server at the very end of the frame: Baileys says "interop"
				const last = at + needle.length === frame.length && chance(50);
				rep = Buffer.concat([Buffer.from([0xf5]), ws(u), u16(d), u16(i),
				    last ? Buffer.alloc(0) : ws(s)]);
			}
			frame = Buffer.concat([frame.subarray(0, at), rep,
			    frame.subarray(at + needle.length)]);
		}
	}
	return frame;
}

const failures = [];
function fail(what) {
	failures.push(what);
	if (failures.length <= 5)
		console.error('codec: MISMATCH ' + what.slice(0, 2000));
}

const intKeys = n => Object.keys(n.attrs).some(k => /^(0|[1-9][0-9]*)$/.test(k)) ||
    (Array.isArray(n.content) && n.content.some(intKeys));

// Baileys re-encodes its decoded node; "stable" when that decodes to the
// same rendering, and then ours must be byte-identical to it.
async function baileysStable(node, text) {
	const again = encodeBinaryNode(node);
	try {
		return canon(await decodeBinaryNode(again)) === text ?
		    again.toString('hex') : null;
	} catch (e) {
		return null;
	}
}

// --- 1. Baileys -> ours --------------------------------------------------
const frames = [], expect = [];
let compressed = 0;
for (let i = 0; i < COUNT; i++) {
	splices = [];
	const node = genNode(1, 1 + below(5), chance(2));
	if (i % 500 === 7) {
		node.attrs.huge = chars('huge', (1 << 20) + below(100));
		node.content = randBytes((1 << 20) + below(100));
	}
	// "x@" has an empty server, which Baileys writes but cannot read back:
	// ours must refuse those frames too
	if (i % 100 === 11)
		node.attrs.bad = pick(['@', user() + '@', 'a@' + user() + '@']);
	// a top-level string content is last in the frame: room for an
	// INTEROP_JID without server
	if (i % 50 === 3)
		node.content = special();
	let frame = splice(encodeBinaryNode(node));
	if (chance(15)) {
		frame = Buffer.concat([Buffer.from([0x02]), deflateSync(frame.subarray(1))]);
		compressed++;
	}
	frames.push(frame.toString('hex'));
	let decoded;
	try {
		decoded = await decodeBinaryNode(frame);
	} catch (e) {
		// Baileys writes some strings it cannot read back ("x@": an empty
		// JID server): then ours must refuse the frame too
		expect.push({ error: e.message });
		continue;
	}
	const text = canon(decoded);
	expect.push({ text, stable: await baileysStable(decoded, text) });
}
const ours = run(['decode'], frames.join('\n') + '\n').split('\n');
let same1 = 0, bytes1 = 0, unstable1 = 0, rejected1 = 0;
for (let i = 0; i < COUNT; i++) {
	const line = ours[i] || '';
	if (expect[i].error !== undefined) {
		if (line.startsWith('ERR '))
			rejected1++;
		else
			fail(`baileys->ours #${i}: Baileys failed (${expect[i].error}), ours said ${line.slice(0, 400)}`);
		continue;
	}
	if (!line.startsWith('OK ')) {
		fail(`baileys->ours #${i}: ours said ${line}\n  frame ${frames[i].slice(0, 400)}`);
		continue;
	}
	const tab = line.indexOf('\t');
	const text = line.slice(3, tab), reenc = line.slice(tab + 1);
	if (text !== expect[i].text) {
		fail(`baileys->ours #${i}:\n  baileys ${expect[i].text}\n  ours    ${text}`);
		continue;
	}
	same1++;
	if (expect[i].stable === null) {
		unstable1++;
	} else if (reenc === expect[i].stable) {
		bytes1++;
	} else {
		fail(`baileys->ours #${i}: re-encoding differs\n  baileys ${expect[i].stable}\n  ours    ${reenc}`);
	}
}

// --- 2. ours -> Baileys --------------------------------------------------
const gen = run(['gen', String(SEED), String(COUNT)]).split('\n').filter(l => l);
let same2 = 0, bytes2 = 0, unstable2 = 0;
if (gen.length !== COUNT)
	fail(`ours->baileys: wa-nodecat gave ${gen.length} nodes, want ${COUNT}`);
for (let i = 0; i < gen.length; i++) {
	const [hex, want] = gen[i].split('\t');
	let decoded, text;
	try {
		decoded = await decodeBinaryNode(Buffer.from(hex, 'hex'));
		text = canon(decoded);
	} catch (e) {
		fail(`ours->baileys #${i}: Baileys failed: ${e.message}\n  frame ${hex.slice(0, 400)}`);
		continue;
	}
	if (text !== want) {
		fail(`ours->baileys #${i}:\n  ours    ${want}\n  baileys ${text}`);
		continue;
	}
	same2++;
	// A JavaScript object lists integer-like keys ("7") first, so Baileys
	// re-encodes such attributes in another order than ours arrived in.
	const stable = intKeys(decoded) ? null : await baileysStable(decoded, text);
	if (stable === null)
		unstable2++;
	else if (stable === hex)
		bytes2++;
	else
		fail(`ours->baileys #${i}: bytes differ from Baileys' encoding\n  baileys ${stable}\n  ours    ${hex}`);
}

// --- 3. token tables -------------------------------------------------------
const want = [];
C.SINGLE_BYTE_TOKENS.forEach((t, i) => want.push(`s ${i} ${t}`));
C.DOUBLE_BYTE_TOKENS.forEach((d, k) => d.forEach((t, i) => want.push(`d ${k} ${i} ${t}`)));
const got = run(['tokens']).split('\n').filter(l => l);
const tokensSame = got.length === want.length && got.every((l, i) => l === want[i]);
if (!tokensSame)
	fail('token tables differ from Baileys constants');

console.log(`codec: baileys->ours: ${compressed} of ${COUNT} frames deflated; ` +
    `${rejected1} frames that Baileys cannot read back rejected by both; ` +
    `re-encoded byte-identical to Baileys ${bytes1}, not comparable ${unstable1} ` +
    `(Baileys' own re-encoding changes the node)`);
console.log(`codec: ours->baileys: our bytes identical to Baileys' encoding ${bytes2}, ` +
    `not comparable ${unstable2}`);
console.log(`codec: token tables ${tokensSame ? 'identical to' : 'DIFFER from'} Baileys ` +
    `(${want.length} entries)`);
console.log(`codec: ${same1} nodes baileys->ours identical, ${same2} nodes ours->baileys identical`);
if (failures.length) {
	console.log(`codec: ${failures.length} mismatches`);
	process.exit(1);
}
