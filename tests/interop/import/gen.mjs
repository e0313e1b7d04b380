// tests/interop/import/gen.mjs: stock Baileys makes an auth folder the way a
// bot's would look after pairing, with nothing of skykeeper involved:
// initAuthCreds() (through useMultiFileAuthState on an empty folder), the
// fields pairing fills in (me, account, signalIdentities, platform; made up
// here, no phone signs them), a routing blob, five uploaded pre-keys
// through the key store, and state skykeeper does not carry (a session
// record, sync counters) so the test can tell the two apart.
//
//   node gen.mjs DIR PHONE DEVICE
import { randomBytes } from 'node:crypto';
import {
	Curve, createSignalIdentity, proto, useMultiFileAuthState,
} from '@whiskeysockets/baileys';

const [dir, phone, device] = process.argv.slice(2);
const { state, saveCreds } = await useMultiFileAuthState(dir);
const creds = state.creds;

const lid = `${100000000000000 + Math.floor(Math.random() * 8e14)}:${device}@lid`;
const jid = `${phone}:${device}@s.whatsapp.net`;
const accountSignatureKey = Curve.generateKeyPair().public;
const details = proto.ADVDeviceIdentity.encode({
	rawId: 4242, timestamp: Math.floor(Date.now() / 1000), keyIndex: 1,
}).finish();
// decoded like configureSuccessfulPairing's: a protobufjs message, whose
// toJSON writes base64 strings into creds.json
creds.account = proto.ADVSignedDeviceIdentity.decode(proto.ADVSignedDeviceIdentity.encode({
	details, accountSignatureKey,
	accountSignature: randomBytes(64), deviceSignature: randomBytes(64),
}).finish());
creds.me = { id: jid, name: 'Interop Test', lid };
creds.signalIdentities = [createSignalIdentity(lid, accountSignatureKey)];
creds.platform = 'android';
creds.routingInfo = randomBytes(24);

// what uploadPreKeys does: keys 1..5, then the counters move on
const prekeys = {};
for (let id = 1; id <= 5; id++)
	prekeys[id] = Curve.generateKeyPair();
await state.keys.set({ 'pre-key': prekeys });
creds.nextPreKeyId = 6;
creds.firstUnuploadedPreKeyId = 6;

// not carried by skykeeper
creds.accountSyncCounter = 3;
creds.lastAccountSyncTimestamp = 1700000000;
creds.myAppStateKeyId = 'AAAAAKq8';
creds.processedHistoryMessages = [{ key: { remoteJid: jid, id: 'ABC' }, messageTimestamp: 1 }];
await state.keys.set({ session: { [`${phone}.0`]: randomBytes(40) } });

await saveCreds();
console.log(`jid=${jid} lid=${lid}`);
