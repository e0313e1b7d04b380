// tests/interop/import/forms.mjs: the session id strings public bots hand
// out (docs/import.md), made from a Baileys auth folder, one file each:
//
//   plain      base64(creds.json)
//   tilde      NAME~base64(creds.json)
//   colon      NAME:base64(creds.json)
//   semigzip   NAME;;;base64(gzip(creds.json))
//   glued      NAMEbase64(creds.json), no separator
//   zlibmap    base64(zlib({"v":1,"files":{"creds.json":…,"pre-key-N.json":…}}))
//   filemap    NAME~base64({"creds.json":…, "pre-key-N.json":…})
//   mega       NAME~<Mega file id>#<key>: a download reference (refused)
//
//   node forms.mjs AUTH_DIR OUT_DIR
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { gzipSync, deflateSync } from 'node:zlib';

const [auth, out] = process.argv.slice(2);
const creds = readFileSync(`${auth}/creds.json`);
const files = {};
for (const f of readdirSync(auth))
	if (f === 'creds.json' || /^pre-key-\d+\.json$/.test(f))
		files[f] = readFileSync(`${auth}/${f}`, 'utf8');
const b64 = (buf) => Buffer.from(buf).toString('base64');
const forms = {
	plain: b64(creds),
	tilde: `SKYTEST~${b64(creds)}`,
	colon: `SKYTEST:${b64(creds)}`,
	semigzip: `SKYTEST;;;${b64(gzipSync(creds))}`,
	glued: `Guru${b64(creds)}`,
	zlibmap: b64(deflateSync(JSON.stringify({ v: 1, files }))),
	filemap: `SKYTEST~${b64(JSON.stringify(files))}`,
	mega: 'SKYTEST~Ab3dE6gH#Zx9yW8vU7tS6rQ5pO4nM3lK2jI1hG0fE9dC8bA7zY6',
};
for (const [k, v] of Object.entries(forms))
	writeFileSync(`${out}/${k}`, v);
console.log(Object.keys(forms).join(' '));
