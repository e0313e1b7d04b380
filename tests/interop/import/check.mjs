// tests/interop/import/check.mjs: compares what stock Baileys loads from an
// exported folder with what it loads from the original, field by field.
//
//   node check.mjs NAME ORIG_DIR OUT_DIR [--prekeys N]
//
// Prints PASS/FAIL lines; exit 0 only when all passed.  Fields skykeeper
// carries must be deep-equal; the others are listed (Baileys rebuilds or
// resets them, see docs/import.md).
import { isDeepStrictEqual } from 'node:util';
import { useMultiFileAuthState } from '@whiskeysockets/baileys';

const [name, origDir, outDir, flag, nStr] = process.argv.slice(2);
const CARRIED = ['noiseKey', 'signedIdentityKey', 'signedPreKey', 'registrationId',
	'advSecretKey', 'me', 'account', 'signalIdentities', 'platform', 'routingInfo',
	'nextPreKeyId', 'firstUnuploadedPreKeyId'];
const NOT_CARRIED = ['pairingEphemeralKeyPair', 'processedHistoryMessages',
	'accountSyncCounter', 'accountSettings', 'lastAccountSyncTimestamp',
	'myAppStateKeyId', 'lastPropHash', 'pairingCode', 'registered', 'additionalData'];

const a = (await useMultiFileAuthState(origDir)).state;
const b = (await useMultiFileAuthState(outDir)).state;
let failed = 0;
const check = (ok, what, detail = '') => {
	if (!ok) failed++;
	console.log(`${ok ? 'PASS' : 'FAIL'} ${name}: ${what}${detail ? ` (${detail})` : ''}`);
};

const bad = CARRIED.filter((k) => !isDeepStrictEqual(a.creds[k], b.creds[k]));
check(a.creds.me && bad.length === 0, 'every carried creds field is deep-equal',
	bad.map((k) => `${k}: ${JSON.stringify(a.creds[k])?.slice(0, 80)} vs ` +
		`${JSON.stringify(b.creds[k])?.slice(0, 80)}`).join('; '));
const unknown = Object.keys(a.creds).filter((k) => !CARRIED.includes(k) && !NOT_CARRIED.includes(k));
check(unknown.length === 0, 'no creds field outside the two lists', unknown.join(','));
const differ = NOT_CARRIED.filter((k) => !isDeepStrictEqual(a.creds[k], b.creds[k]));
console.log(`     ${name}: not carried, differing: ${differ.join(',') || 'none'}`);

if (flag === '--prekeys') {
	const ids = Array.from({ length: Number(nStr) }, (_, i) => String(i + 1));
	const pa = await a.keys.get('pre-key', ids);
	const pb = await b.keys.get('pre-key', ids);
	const missing = ids.filter((id) => !pa[id] || !pb[id]);
	check(missing.length === 0 && isDeepStrictEqual(pa, pb),
		`pre-keys 1..${nStr} are deep-equal`, missing.length ? `missing ${missing}` : '');
}
process.exit(failed === 0 ? 0 : 1);
