// Tests of web/assets/verify.js: the shared JWS vectors, QR text, windows, status lists and a
// directory signed in the test. Run from the repo root: node --test web/test/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { decodeToken, openDirectory, openTrust, verifyOffline, CODES, STATUSES, TrustError, MAX_DIRECTORY_LEN, MAX_PAYLOAD_LEN, MAX_STATUS_LIST_LEN, MAX_TOKEN_LEN } from '../assets/verify.js';
import { encode as base45Encode, decode as base45Decode } from '../assets/base45.js';
import { Y8 } from '../assets/ed25519.js';
import * as schemas from '../assets/schemas.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const vectors = path.resolve(repoRoot, 'tests', 'data', 'vectors');
const AT = Date.UTC(2026, 5, 1) / 1000;
const subtle = globalThis.crypto.subtle;

// ---- helpers -------------------------------------------------------------------------------

const b64u = (bytes) => Buffer.from(bytes).toString('base64url');
const unb64u = (text) => new Uint8Array(Buffer.from(text, 'base64url'));
const utf8 = (text) => new TextEncoder().encode(text);

/** The rows of tokens.csv (name, expected, note, token), quoted fields allowed. */
function readVectors() {
  const lines = readFileSync(path.join(vectors, 'tokens.csv'), 'utf8').trim().split(/\r?\n/).slice(1);
  return lines.map((line) => {
    const fields = [];
    for (const m of line.matchAll(/(?:^|,)(?:"((?:[^"]|"")*)"|([^,]*))/g)) fields.push(m[1]?.replace(/""/g, '"') ?? m[2]);
    const [name, expected, note, token] = fields;
    return { name, expected, note, token };
  });
}

const JWKS = JSON.parse(readFileSync(path.join(vectors, 'jwks.json'), 'utf8'));
const PAYLOAD = JSON.parse(readFileSync(path.join(vectors, 'certificate.payload.json'), 'utf8'));
const ISSUER = '130728102000';
// RFC 8037 Appendix A.1: a published test key, never a real one.
const RFC_KEY = { kty: 'OKP', crv: 'Ed25519', d: 'nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' };
const rfcSigner = async () => ({
  kid: `${ISSUER}#rfc8037-a1`,
  privateKey: await subtle.importKey('jwk', RFC_KEY, { name: 'Ed25519' }, false, ['sign']),
  jwk: JWKS.keys[0],
});

/** A fresh Ed25519 key of node `code`, its public JWK under kid `<code>#<id>`. */
async function newSigner(code, id = 'k1') {
  const pair = await subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']);
  const { kty, crv, x } = await subtle.exportKey('jwk', pair.publicKey);
  const kid = `${code}#${id}`;
  return { kid, privateKey: pair.privateKey, jwk: { kty, crv, x, kid, alg: 'EdDSA', use: 'sig' } };
}

async function deflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new CompressionStream('deflate-raw'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** jws.rs sign_compact, with any header (fields in the order given) and raw payload bytes. */
async function signRaw(signer, header, payload) {
  const input = `${b64u(utf8(JSON.stringify(header)))}.${b64u(payload)}`;
  const signature = new Uint8Array(await subtle.sign({ name: 'Ed25519' }, signer.privateKey, utf8(input)));
  return `${input}.${b64u(signature)}`;
}

async function sign(signer, typ, claims, { zip = false, header = {} } = {}) {
  const json = utf8(typeof claims === 'string' ? claims : JSON.stringify(claims));
  const head = { alg: 'EdDSA', kid: signer.kid, typ, ...(zip ? { zip: 'DEF' } : {}), ...header };
  return signRaw(signer, head, zip ? await deflate(json) : json);
}

/** qr.rs encode: HY1: + Base45 of (u16 header length, header, u16 payload length, payload, signature). */
function qrEncode(token) {
  const [header, payload, signature] = token.split('.').map(unb64u);
  const frame = [];
  for (const part of [header, payload]) frame.push(part.length >> 8, part.length & 0xff, ...part);
  return `HY1:${base45Encode(Uint8Array.from([...frame, ...signature]))}`;
}

const vectorTrust = { keys: JWKS.keys };
const firstReason = (verdict) => verdict.reasons[0]?.code ?? 'valid';
const codes = (list) => list.map((r) => r.code);
const certificate = (changes = {}) => ({ ...structuredClone(PAYLOAD), ...changes });

// ---- the shared vectors --------------------------------------------------------------------

test('every vector gets its verdict, as a token and as QR text', async () => {
  const rows = readVectors();
  assert.equal(rows.length, 9);
  for (const { name, expected, token } of rows) {
    const verdict = await verifyOffline(token, vectorTrust, AT);
    assert.equal(firstReason(verdict), expected, `vector ${name}`);
    assert.equal(verdict.valid, expected === 'valid', `vector ${name}`);
    const viaQr = await verifyOffline(qrEncode(token), vectorTrust, AT);
    assert.equal(firstReason(viaQr), expected, `vector ${name} as QR text`);
  }
});

test('a valid vector says who issued it, what it holds, and that no status list was had', async () => {
  const [valid] = readVectors();
  const verdict = await verifyOffline(valid.token, vectorTrust, AT);
  assert.deepEqual(
    { valid: verdict.valid, status: verdict.status, reasons: verdict.reasons, issuer: verdict.issuer },
    { valid: true, status: 'active', reasons: [], issuer: { code: ISSUER, name: ISSUER } },
  );
  assert.deepEqual(verdict.certificate, PAYLOAD);
  assert.deepEqual(codes(verdict.warnings), ['status_unknown']);
  assert.equal(verdict.trust.directory_serial, null);
});

test('the test signer reproduces the valid vector byte for byte', async () => {
  const [valid] = readVectors();
  const payload = unb64u(valid.token.split('.')[1]);
  const header = { alg: 'EdDSA', kid: `${ISSUER}#rfc8037-a1`, typ: 'hunyu-certificate+jwt' };
  assert.equal(await signRaw(await rfcSigner(), header, payload), valid.token);
});

// ---- QR text ---------------------------------------------------------------------------------

test('QR text decodes back to the exact token that was signed', async () => {
  for (const { token } of readVectors()) {
    const qr = qrEncode(token);
    assert.match(qr, /^HY1:[0-9A-Z $%*+\-./:]*$/);
    assert.equal(decodeToken(qr), token);
    assert.equal(decodeToken(`\n  ${qr}\r\n`), token, 'surrounding whitespace is trimmed');
  }
  assert.equal(decodeToken(` ${readVectors()[0].token}\t`), readVectors()[0].token);
});

test('texts that are no token are refused as Rust refuses them', async () => {
  const refusal = (text) => {
    try {
      decodeToken(text);
      return 'accepted';
    } catch (error) {
      return error.code;
    }
  };
  const [valid] = readVectors();
  const qr = qrEncode(valid.token);
  assert.equal(refusal('HY1:NOT-A-CERTIFICATE'), 'malformed');
  assert.equal(refusal(qr.slice(0, 4) + qr.slice(4).toLowerCase()), 'malformed', 'Base45 is upper case');
  assert.equal(refusal(`${qr.slice(0, -3)}中${qr.slice(-2)}`), 'malformed');
  const lone = qr + '0'.repeat((4 - ((qr.length - 4) % 3)) % 3);
  assert.equal((lone.length - 4) % 3, 1);
  assert.equal(refusal(lone), 'malformed', 'a lone trailing character');
  assert.equal(refusal('HY1:'), 'malformed');
  assert.equal(refusal('HY1:GGW'), 'malformed', 'a group above 65535');
  assert.equal(refusal(`HY1:${'0'.repeat(MAX_TOKEN_LEN + 1)}`), 'token_too_large');
  assert.equal(refusal('a'.repeat(MAX_TOKEN_LEN + 1)), 'token_too_large');
  for (const text of ['', 'abc', 'a.b', 'a.b.c!', 'a.b=.c', 'eyJ.e30.', 'a.b.c.d']) assert.equal(refusal(text), 'malformed', text);
  // A frame has one text: the two-character tail of a byte plus 256 is refused (qr.rs a_frame_has_one_text).
  let twins = 0;
  for (const token of ['eyJhIjoxfQ.eyJiIjoyfQ.c2ln', 'eyJhIjoxfQ.eyJiIjoyfQ.c2lnMQ']) {
    const text = qrEncode(token);
    const tail = base45Decode(text.slice(-2));
    if ((text.length - 4) % 3 !== 2 || tail[0] + 256 >= 45 * 45) continue;
    const other = tail[0] + 256;
    const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';
    const twin = text.slice(0, -2) + alphabet[other % 45] + alphabet[Math.floor(other / 45)];
    assert.equal(decodeToken(text), token);
    assert.equal(refusal(twin), 'malformed', twin);
    twins += 1;
  }
  assert.ok(twins > 0, 'no token gave a two-character tail');
  // A truncated frame never gives back the token.
  for (let cut = 4; cut < qr.length - 1; cut += 7) {
    let decoded = null;
    try {
      decoded = decodeToken(qr.slice(0, cut));
    } catch {}
    assert.notEqual(decoded, valid.token);
  }
  const verdict = await verifyOffline('HY1:NOT-A-CERTIFICATE', vectorTrust, AT);
  assert.deepEqual([verdict.status, codes(verdict.reasons), verdict.certificate, verdict.issuer], ['invalid', ['malformed'], null, null]);
  assert.deepEqual(codes(verdict.warnings), [], 'a refused token has no status evidence');
});

// ---- window and status -----------------------------------------------------------------------

test('the validity window is half-open: [nbf, exp)', async () => {
  const [valid] = readVectors();
  const at = async (now) => {
    const v = await verifyOffline(valid.token, vectorTrust, now);
    return [v.status, ...codes(v.reasons)];
  };
  assert.deepEqual(await at(PAYLOAD.nbf - 1), ['invalid', 'not_yet_valid']);
  assert.deepEqual(await at(PAYLOAD.nbf), ['active']);
  assert.deepEqual(await at(PAYLOAD.exp - 1), ['active']);
  assert.deepEqual(await at(PAYLOAD.exp), ['expired', 'expired']);
});

test('a status list revokes or supersedes a version by its jti, and says when it is stale', async () => {
  const [valid] = readVectors();
  const signer = await rfcSigner();
  const list = (entries, { iat = AT - 3600, exp = AT + 86_400, iss = ISSUER, by = signer } = {}) =>
    sign(by, 'hunyu-status+jwt', { iss, iat, exp, entries });
  const check = async (statusList, now = AT) => {
    const v = await verifyOffline(valid.token, { keys: JWKS.keys, status_lists: { [ISSUER]: await statusList } }, now);
    return { status: v.status, reasons: codes(v.reasons), warnings: codes(v.warnings), trust: v.trust };
  };
  const jti = PAYLOAD.jti;

  const revoked = await check(list([{ jti, status: 'revoked' }]));
  assert.deepEqual([revoked.status, revoked.reasons, revoked.warnings], ['revoked', ['revoked'], []]);
  assert.deepEqual(revoked.trust.status_lists, { [ISSUER]: AT - 3600 });

  const superseded = await check(list([{ jti, status: 'superseded' }]));
  assert.deepEqual([superseded.status, superseded.reasons], ['superseded', ['superseded']]);

  const other = await check(list([{ jti: '01936a2e-0000-7000-8000-000000000000', status: 'revoked' }]));
  assert.deepEqual([other.status, other.reasons, other.warnings], ['active', [], []]);

  // Reasons in the order found (window, then recorded); the most serious sets the status.
  const late = await check(list([{ jti, status: 'revoked' }], { iat: PAYLOAD.exp, exp: PAYLOAD.exp + 10 }), PAYLOAD.exp);
  assert.deepEqual([late.status, late.reasons], ['revoked', ['expired', 'revoked']]);

  // Past its exp the list is still used, with a warning (verification.rs StatusEvidence::warning).
  const stale = await check(list([{ jti, status: 'revoked' }], { exp: AT }));
  assert.deepEqual([stale.status, stale.warnings], ['revoked', ['status_list_stale']]);

  // A list of another node, or signed by a key not of its node, is not taken.
  const elsewhere = await check(list([{ jti, status: 'revoked' }], { iss: '440306001000' }));
  assert.deepEqual([elsewhere.status, elsewhere.warnings], ['active', ['status_unknown']]);
  assert.deepEqual(elsewhere.trust.status_lists_refused, { [ISSUER]: 'issuer_mismatch' });
  const forged = await check(list([{ jti, status: 'revoked' }], { by: await newSigner(ISSUER, 'rogue') }));
  assert.deepEqual([forged.status, forged.trust.status_lists_refused], ['active', { [ISSUER]: 'unknown_key' }]);
  const bent = await check(list([{ jti, status: 'revoked', note: 'x' }]));
  assert.deepEqual(bent.trust.status_lists_refused, { [ISSUER]: 'schema' });
});

test('a status list of thousands of versions is taken whole, as open_list takes it', async () => {
  const [valid] = readVectors();
  const signer = await rfcSigner();
  // Every renewal leaves a superseded version: a node's list soon outgrows a certificate's caps.
  const count = 3000;
  const jtiOf = (n) => `01936a2e-0000-7000-8000-${n.toString(16).padStart(12, '0')}`;
  const entries = Array.from({ length: count }, (_, n) => ({ jti: jtiOf(n), status: n % 7 ? 'superseded' : 'revoked' }));
  entries.push({ jti: PAYLOAD.jti, status: 'revoked' });
  const claims = { iss: ISSUER, iat: AT - 3600, exp: AT + 86_400, entries };
  assert.ok(utf8(JSON.stringify(claims)).length > MAX_PAYLOAD_LEN, 'past a certificate payload cap');
  const token = await sign(signer, 'hunyu-status+jwt', claims);
  assert.ok(token.length > 4 * MAX_TOKEN_LEN, `a list of ${count} entries is ${token.length} bytes`);
  assert.ok(token.length < MAX_STATUS_LIST_LEN);

  const store = await openTrust({ keys: JWKS.keys, status_lists: { [ISSUER]: token } });
  assert.deepEqual(store.summary().status_lists_refused, {});
  assert.equal(store.lists.get(ISSUER).statuses.size, count + 1);
  for (const n of [0, 1, 7, count - 1]) {
    assert.deepEqual(store.listed(ISSUER, jtiOf(n)).statuses, [n % 7 ? 'superseded' : 'revoked'], jtiOf(n));
  }
  const verdict = await verifyOffline(valid.token, store, AT);
  assert.deepEqual([verdict.status, codes(verdict.reasons), codes(verdict.warnings)], ['revoked', ['revoked'], []]);

  const zipped = await openTrust({ keys: JWKS.keys, status_lists: { [ISSUER]: await sign(signer, 'hunyu-status+jwt', claims, { zip: true }) } });
  assert.equal(zipped.lists.get(ISSUER).statuses.size, count + 1, 'compressed, it inflates past a certificate payload cap');

  // The list's own caps still hold: a token one byte over, and a payload that inflates past it.
  const refusedAs = async (token) => (await openTrust({ keys: JWKS.keys, status_lists: { [ISSUER]: token } })).summary().status_lists_refused;
  assert.deepEqual(await refusedAs('a'.repeat(MAX_STATUS_LIST_LEN + 1)), { [ISSUER]: 'token_too_large' });
  const bomb = await sign(signer, 'hunyu-status+jwt', ' '.repeat(MAX_STATUS_LIST_LEN + 1), { zip: true });
  assert.ok(bomb.length < MAX_STATUS_LIST_LEN / 500, 'a bomb is small');
  assert.deepEqual(await refusedAs(bomb), { [ISSUER]: 'payload_too_large' });
  // Held to a certificate's caps, the same list is refused.
  assert.equal(firstReason(await verifyOffline(token, vectorTrust, AT)), 'token_too_large');
});

// ---- a directory made in the test --------------------------------------------------------------

const REGISTRY = '000000000000';

function node(code, name, keys, changes = {}) {
  const url = `https://${code}.example.invalid`;
  return { code, name, api_url: url, peer_url: `${url}:9701`, tls_sha256: 'ab'.repeat(32), status: 'active', keys, ...changes };
}

async function directory(root, nodes, changes = {}) {
  const claims = { iss: REGISTRY, iat: AT - 86_400, exp: AT + 86_400, serial: 7, nodes, ...changes };
  return sign(root, 'hunyu-directory+jwt', claims);
}

test('a directory signed by the registry vouches for node keys within their windows', async () => {
  const root = await newSigner(REGISTRY, 'root');
  const [valid] = readVectors();
  const iat = PAYLOAD.iat;
  const verdictWith = async (window, now = AT) => {
    const dir = await directory(root, [node(ISSUER, '怀安县柴沟堡镇', [{ ...JWKS.keys[0], ...window }])]);
    return verifyOffline(valid.token, { directory: dir, registry_key: root.jwk }, now);
  };

  const fine = await verdictWith({ not_before: iat - 10 });
  assert.deepEqual([fine.status, fine.issuer], ['active', { code: ISSUER, name: '怀安县柴沟堡镇' }]);
  assert.deepEqual(
    [fine.trust.directory_serial, fine.trust.directory_issued_at, fine.trust.directory_expires_at],
    [7, AT - 86_400, AT + 86_400],
  );
  const retiredAfter = await verdictWith({ not_before: iat - 10, not_after: iat });
  assert.equal(retiredAfter.status, 'active', 'a retired key keeps what it signed before');

  const windows = [
    [{ not_before: iat + 1 }, 'key_out_of_window'],
    [{ not_before: iat - 10, not_after: iat - 1 }, 'key_out_of_window'],
    [{ not_before: iat - 10, compromised_at: iat }, 'key_compromised'],
    [{ not_before: iat - 10, compromised_at: iat + 1 }, 'valid'],
  ];
  for (const [window, expected] of windows) {
    assert.equal(firstReason(await verdictWith(window)), expected, JSON.stringify(window));
  }

  const stale = await verdictWith({ not_before: iat - 10 }, AT + 86_400);
  assert.deepEqual([stale.status, codes(stale.warnings)], ['active', ['status_unknown', 'directory_stale']]);
});

test('a node key of the directory signs certificates, compressed and through QR text', async () => {
  const root = await newSigner(REGISTRY, 'root');
  const origin = await newSigner(ISSUER);
  const residence = await newSigner('440306001000');
  const dir = await directory(root, [
    node(ISSUER, '怀安县柴沟堡镇', [{ ...origin.jwk, not_before: 0 }]),
    node('440306001000', '深圳市南山区', [{ ...residence.jwk, not_before: 0 }]),
  ]);
  const trust = await openTrust({ directory: dir, registry_key: root.jwk });
  const verdictOf = async (token) => {
    const v = await verifyOffline(token, trust, AT);
    return firstReason(v);
  };
  const cert = (changes, options) => sign(origin, 'hunyu-certificate+jwt', certificate(changes), options);

  const zipped = await cert({}, { zip: true });
  assert.equal(await verdictOf(zipped), 'valid');
  assert.equal(await verdictOf(qrEncode(zipped)), 'valid');
  assert.ok(qrEncode(zipped).length < 800, 'a compressed certificate fits a QR code');

  // Signed by a node that is not the holder's, or under another node's name.
  assert.equal(await verdictOf(await sign(residence, 'hunyu-certificate+jwt', certificate({ iss: '440306001000' }))), 'issuer_not_responsible');
  assert.equal(await verdictOf(await sign(residence, 'hunyu-certificate+jwt', certificate())), 'issuer_mismatch');
  assert.equal(await verdictOf(await sign(await newSigner(ISSUER, 'k9'), 'hunyu-certificate+jwt', certificate())), 'unknown_key');
  assert.equal(await verdictOf(await sign(await newSigner('110105003000'), 'hunyu-certificate+jwt', certificate())), 'unknown_issuer');

  // The contract: schema and what serde reads beyond it.
  const person = (changes) => ({ person: { ...PAYLOAD.person, ...changes } });
  assert.equal(await verdictOf(await cert(person({ id_number: '130728199003070027' }))), 'schema', 'check digit');
  assert.equal(await verdictOf(await cert(person({ id_number: '990728199003070026' }))), 'schema', 'pattern');
  assert.equal(await verdictOf(await cert(person({ birth_date: '1990-02-30' }))), 'schema', 'format date');
  assert.equal(await verdictOf(await cert({ children: undefined })), 'schema', 'required');
  assert.equal(await verdictOf(await cert({ ver: 2 ** 32 })), 'schema', 'ver is a u32');
  assert.equal(await verdictOf(await cert({ status: { url: 'not a uri', index: 1 } })), 'schema', 'format uri');
  assert.equal(await verdictOf(await cert({ extra: { any: 'thing' } })), 'valid', 'new optional fields are allowed');
  assert.equal(await verdictOf(await cert(person({ hukou: '130728102201' }))), 'valid', 'a village of the township');
  assert.equal(await verdictOf(await sign(origin, 'hunyu-certificate+jwt', '{"iss": ')), 'malformed');

  // The header, in jws.rs read_signed's order.
  assert.equal(await verdictOf(await cert({}, { header: { zip: 'GZIP' } })), 'malformed');
  assert.equal(await verdictOf(await cert({}, { header: { crit: ['exp'] } })), 'malformed');
  assert.equal(await verdictOf(await cert({}, { header: { kid: undefined } })), 'malformed');
  assert.equal(await verdictOf(await cert({}, { header: { typ: 'hunyu-presentation+jwt' } })), 'wrong_type');
  assert.equal(await verdictOf(await cert({}, { header: { alg: 'ES256', typ: 'x' } })), 'disallowed_algorithm');
  assert.equal(await verdictOf(await cert({}, { header: { alg: 'Ed25519' } })), 'valid');
  const token = await cert();
  const [head, body, signature] = token.split('.');
  assert.equal(await verdictOf(`${head}.${body}.${b64u(unb64u(signature).subarray(1))}`), 'malformed', 'a signature of 63 bytes');
  // S + L is the same signature to a lax verifier; keys.rs refuses a non-canonical S.
  const bytes = unb64u(signature);
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  let s = bytes.subarray(32).reduceRight((n, b) => (n << 8n) | BigInt(b), 0n) + L;
  for (let i = 32; i < 64; i++, s >>= 8n) bytes[i] = Number(s & 0xffn);
  assert.equal(await verdictOf(`${head}.${body}.${b64u(bytes)}`), 'bad_signature');
});

test('a signature with a small-order R that WebCrypto takes is refused, as keys.rs refuses it', async () => {
  // R = identity and S = k·a satisfy the cofactorless equation [S]B = R + [k]A for the RFC 8037 key.
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  const le = (bytes) => bytes.reduceRight((n, b) => (n << 8n) | BigInt(b), 0n);
  const toLe = (n) => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn));
  const h = new Uint8Array(await subtle.digest('SHA-512', unb64u(RFC_KEY.d)));
  const a = (le(h.subarray(0, 32)) & ~7n & ((1n << 254n) - 1n)) | (1n << 254n);
  const header = b64u(utf8(JSON.stringify({ alg: 'EdDSA', kid: `${ISSUER}#rfc8037-a1`, typ: 'hunyu-certificate+jwt' })));
  const input = `${header}.${b64u(utf8(JSON.stringify(PAYLOAD)))}`;
  const R = toLe(1n);
  const k = le(new Uint8Array(await subtle.digest('SHA-512', Uint8Array.from([...R, ...unb64u(RFC_KEY.x), ...utf8(input)])))) % L;
  const signature = Uint8Array.from([...R, ...toLe((k * a) % L)]);
  const publicKey = await subtle.importKey('jwk', JWKS.keys[0], { name: 'Ed25519' }, false, ['verify']);
  assert.equal(await subtle.verify({ name: 'Ed25519' }, publicKey, signature, utf8(input)), true, 'WebCrypto takes it');
  assert.equal(firstReason(await verifyOffline(`${input}.${b64u(signature)}`, vectorTrust, AT)), 'bad_signature');
});

test('inflation stops at the cap, as libdeflate into a 64 KiB buffer does', async () => {
  const signer = await rfcSigner();
  const padded = (size) => {
    const base = utf8(JSON.stringify(certificate({ pad: '' }))).length;
    return certificate({ pad: 'x'.repeat(size - base) });
  };
  const at = async (size) => {
    const claims = padded(size);
    assert.equal(utf8(JSON.stringify(claims)).length, size);
    return firstReason(await verifyOffline(await sign(signer, 'hunyu-certificate+jwt', claims, { zip: true }), vectorTrust, AT));
  };
  assert.equal(await at(MAX_PAYLOAD_LEN), 'valid');
  assert.equal(await at(MAX_PAYLOAD_LEN + 1), 'payload_too_large');
  const junk = await sign(signer, 'hunyu-certificate+jwt', certificate(), { zip: true });
  const [head, , ] = junk.split('.');
  const broken = await signRaw(signer, JSON.parse(Buffer.from(head, 'base64url')), Uint8Array.of(0xff, 0xff, 0xff));
  assert.equal(firstReason(await verifyOffline(broken, vectorTrust, AT)), 'malformed');
});

test('a directory of hundreds of nodes opens whole, as open_directory opens it', async () => {
  const root = await newSigner(REGISTRY, 'root');
  const count = 200;
  const nodes = [];
  for (let n = 0; n < count; n++) {
    const code = `130728${String(100 + n).padStart(3, '0')}000`;
    nodes.push(node(code, `怀安县第${n}镇`, [{ ...(await newSigner(code)).jwk, not_before: 0 }]));
  }
  const token = await directory(root, nodes);
  assert.ok(token.length > 3 * MAX_TOKEN_LEN, `a directory of ${count} nodes is ${token.length} bytes`);
  assert.ok(token.length < MAX_DIRECTORY_LEN);
  const claims = await openDirectory(token, root.jwk);
  assert.equal(claims.nodes.length, count);
  const store = await openTrust({ directory: token, registry_key: root.jwk });
  assert.equal(store.nodes.size, count);
});

test('a directory is refused as open_directory refuses it', async () => {
  const root = await newSigner(REGISTRY, 'root');
  const nodes = [node(ISSUER, '怀安县柴沟堡镇', [{ ...JWKS.keys[0], not_before: 0 }])];
  const refusal = async (token, key = root.jwk) => {
    try {
      await openDirectory(await token, key);
      return 'accepted';
    } catch (error) {
      assert.ok(error instanceof TrustError, String(error));
      return [error.kind, error.detail ?? null];
    }
  };
  const claims = await openDirectory(await directory(root, nodes), root.jwk);
  assert.deepEqual([claims.serial, claims.nodes[0].code], [7, ISSUER]);
  assert.deepEqual(await refusal(directory(root, nodes), (await newSigner(REGISTRY, 'root')).jwk), ['token', 'bad_signature']);
  assert.deepEqual(await refusal(directory(root, nodes), (await newSigner(REGISTRY, 'other')).jwk), ['token', 'unknown_key']);
  assert.deepEqual(await refusal(sign(root, 'hunyu-status+jwt', {})), ['token', 'wrong_type']);
  assert.deepEqual(await refusal(directory(root, nodes, { iss: '000000000001' })), ['wrong_registry', '000000000001, expected 000000000000']);
  assert.deepEqual(await refusal(directory(root, [node(ISSUER, 'x', [], { api_url: 'http://node.example' })])), ['insecure_url', ISSUER]);
  assert.equal(await refusal(directory(root, [node(ISSUER, 'x', [], { api_url: 'http://127.0.0.1:8701' })])), 'accepted');
  assert.deepEqual(await refusal(directory(root, [node(ISSUER, 'x', [], { tls_sha256: undefined })])), ['schema', null]);
  assert.deepEqual(await refusal(directory(root, nodes, { serial: 0 })), ['schema', null]);
  // The registry key must be a strict Ed25519 point whose kid names the registry.
  const identity = b64u(Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 1 : 0)));
  assert.equal((await refusal(directory(root, nodes), { ...root.jwk, x: identity }))[0], 'key');
  assert.equal((await refusal(directory(root, nodes), { ...root.jwk, kid: 'root' }))[0], 'key');
  // A node key whose kid names another node makes the directory unusable (trust.rs add_key).
  const foreign = [node('440306001000', 'x', [{ ...JWKS.keys[0], not_before: 0 }])];
  await assert.rejects(openTrust({ directory: await directory(root, foreign), registry_key: root.jwk }), TrustError);
});

// ---- what is mirrored from the Rust sources ----------------------------------------------------------

test('reason and warning codes and messages are those of domain/verification.rs', () => {
  const rust = readFileSync(path.join(repoRoot, 'src', 'domain', 'verification.rs'), 'utf8');
  const texts = new Map([...rust.matchAll(/\(\s*"([a-z_]+)",\s*"([^"]+)",\s*"([^"]+)",?\s*\)/g)].map((m) => [m[1], [m[2], m[3]]]));
  const reasons = Object.values(CODES.reasons);
  assert.equal(reasons.length, 19);
  for (const { code, message_zh, message_en } of [...reasons, ...Object.values(CODES.warnings)]) {
    assert.deepEqual([message_zh, message_en], texts.get(code), code);
  }
  assert.deepEqual(STATUSES, ['active', 'expired', 'superseded', 'revoked', 'unknown_issuer', 'invalid']);
});

test('assets/schemas.js holds the repository schemas (vendor.sh copies them)', () => {
  const files = { certificate: 'certificate', statusList: 'status-list', directory: 'directory' };
  for (const [name, file] of Object.entries(files)) {
    const schema = JSON.parse(readFileSync(path.join(repoRoot, 'schemas', `${file}.schema.json`), 'utf8'));
    assert.deepEqual(schemas[name], schema, file);
  }
});

test('the points of order 8 are where ed25519.js says, and small-order keys are refused', async () => {
  const P = 2n ** 255n - 19n;
  const mod = (a) => ((a % P) + P) % P;
  const power = (b, e) => (e === 0n ? 1n : mod((e & 1n ? b : 1n) * power(mod(b * b), e >> 1n)));
  const D = mod(-121665n * power(121666n, P - 2n));
  assert.equal(mod(D * Y8 ** 4n + 2n * Y8 ** 2n - 1n), 0n);
  const orderTwo = b64u(Uint8Array.from({ length: 32 }, (_, i) => (i === 0 ? 0xec : i === 31 ? 0x7f : 0xff)));
  await assert.rejects(openTrust({ keys: [{ ...JWKS.keys[0], x: orderTwo }] }), TrustError);
});

test('the vendored jsQR loads and finds no code in a blank image', () => {
  const module = { exports: {} };
  new Function('module', 'exports', readFileSync(path.join(repoRoot, 'web', 'vendor', 'jsQR.js'), 'utf8'))(module, module.exports);
  const jsQR = module.exports;
  assert.equal(typeof jsQR, 'function');
  assert.equal(jsQR(new Uint8ClampedArray(40 * 40 * 4).fill(255), 40, 40), null);
});
