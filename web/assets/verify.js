// Offline verification (离线查验) of a hunyu certificate from cached trust data: the same checks, in
// the same order, with the same reason codes as the Rust verifier (seal/, service/verification.rs).
// No DOM: it runs in a page, a service worker and Node 20 (WebCrypto Ed25519, DecompressionStream).

import { decode as base45Decode } from './base45.js';
import { conformsTo } from './contract.js';
import { isStrictPoint, isStrictSignature } from './ed25519.js';

/** jws.rs MAX_TOKEN_LEN: longest certificate token (in UTF-8 bytes) read at all. */
export const MAX_TOKEN_LEN = 32 * 1024;
/** jws.rs MAX_PAYLOAD_LEN: largest certificate payload after inflation. */
export const MAX_PAYLOAD_LEN = 64 * 1024;
/** jws.rs MAX_DIRECTORY_LEN: longest trust directory, its token and its payload. */
export const MAX_DIRECTORY_LEN = 64 * 1024 * 1024;
/** jws.rs MAX_STATUS_LIST_LEN: longest status list, its token and its payload. */
export const MAX_STATUS_LIST_LEN = 32 * 1024 * 1024;
export const QR_PREFIX = 'HY1:';
export const CERTIFICATE_TYP = 'hunyu-certificate+jwt';
export const DIRECTORY_TYP = 'hunyu-directory+jwt';
export const STATUS_LIST_TYP = 'hunyu-status+jwt';

/** jws.rs Limits::RECORD: the caps of a certificate (and of every kind but the two below). */
const RECORD_LIMITS = { token: MAX_TOKEN_LEN, payload: MAX_PAYLOAD_LEN };
/** jws.rs Limits::of: the caps of the kind a verifier expects, never of the kind a token names. */
const LIMITS = {
  [DIRECTORY_TYP]: { token: MAX_DIRECTORY_LEN, payload: MAX_DIRECTORY_LEN },
  [STATUS_LIST_TYP]: { token: MAX_STATUS_LIST_LEN, payload: MAX_STATUS_LIST_LEN },
};
const limitsOf = (typ) => (Object.hasOwn(LIMITS, typ) ? LIMITS[typ] : RECORD_LIMITS);
/** keys.rs: `EdDSA` (RFC 8037) and RFC 9864's `Ed25519`. */
const ALGS = ['EdDSA', 'Ed25519'];

// domain/verification.rs Reason, in its order: code → [status it gives, 中文, English].
const REASONS = {
  malformed: ['invalid', '证明格式无法识别', 'not a certificate token or QR text'],
  token_too_large: ['invalid', '证明内容超过长度上限', 'token is longer than any certificate'],
  payload_too_large: ['invalid', '证明内容解压后超过上限', 'payload inflates beyond the size limit'],
  disallowed_algorithm: ['invalid', '签名算法不被接受', 'signature algorithm is not allowed'],
  wrong_type: ['invalid', '不是婚育证明', 'token is not a certificate'],
  unknown_issuer: ['unknown_issuer', '签发机关不在信任名录中', 'issuer is not a trusted node'],
  unknown_key: ['unknown_issuer', '签发机关的该密钥未登记', 'issuer key is not known'],
  bad_signature: ['invalid', '签名验证失败，内容可能被篡改', 'signature does not match the content'],
  key_compromised: ['invalid', '签名密钥已泄露，该时间之后的签名无效', 'signed after the key was marked compromised'],
  key_out_of_window: ['invalid', '签名时间不在该密钥的有效期内', "signed outside the key's validity window"],
  issuer_mismatch: ['invalid', '签发机关与签名密钥不符', 'issuer claim does not match the signing key'],
  issuer_not_responsible: ['invalid', '签发机关不是持证人户籍地的节点', "the issuer is not the node of the holder's household registration"],
  unknown_version: ['invalid', '签发机关没有签发过该证明版本', 'the issuer never issued this version'],
  not_in_log: ['invalid', '签发机关的签发透明日志中没有该证明版本', "the issuer's transparency log does not hold this version, though it says it was signed before the log's anchored head"],
  schema: ['invalid', '证明内容不符合数据规范', 'payload does not follow the certificate schema'],
  not_yet_valid: ['invalid', '证明尚未生效', 'certificate is not valid yet'],
  expired: ['expired', '证明已过有效期', 'certificate has expired'],
  superseded: ['superseded', '证明已被新版本取代', 'a newer version of this certificate exists'],
  revoked: ['revoked', '证明已被签发机关注销', 'certificate was revoked by its issuer'],
};

// domain/verification.rs Warning: what does not change the verdict (status_not_confirmed needs the network).
const WARNINGS = {
  directory_stale: ['信任名录已过期未更新，结果基于离线缓存', 'the trust directory is past its lifetime; checked against the cached copy'],
  status_list_stale: ['签发机关的注销名单已过期未更新，可能未反映最近的注销', "the issuer's status list is past its lifetime; a recent revocation may be missed"],
  status_unknown: ['未能取得签发机关的注销名单，无法确认证明是否已被注销', 'no status list of the issuer could be had; a revocation may be missed'],
};

/** VerificationStatus, mildest first: the most serious reason sets the verdict. */
export const STATUSES = ['active', 'expired', 'superseded', 'revoked', 'unknown_issuer', 'invalid'];

/** A token refused for one reason (a code of REASONS). */
export class Refusal extends Error {
  constructor(code) {
    super(code);
    this.name = 'Refusal';
    this.code = code;
  }
}

/** Trust data that cannot be used (directory.rs DirectoryError): kind token|schema|wrong_registry|key|insecure_url. */
export class TrustError extends Error {
  constructor(kind, detail) {
    super(`trust data refused: ${kind}${detail ? `: ${detail}` : ''}`);
    this.name = 'TrustError';
    this.kind = kind;
    this.detail = detail;
  }
}

// ---- text and bytes --------------------------------------------------------------------------

// Rust's str::trim removes Unicode White_Space, which is not quite JavaScript's trim (U+FEFF, U+0085).
const WHITE = '[\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';
const TRIM = new RegExp(`^${WHITE}+|${WHITE}+$`, 'gu');
const trim = (text) => text.replace(TRIM, '');

// Rust measures lengths in UTF-8 bytes: never fewer than the UTF-16 length, never more than three times it.
const longerThan = (text, cap) => text.length > cap || (text.length * 3 > cap && new TextEncoder().encode(text).length > cap);

/** Unpadded base64url as Rust's URL_SAFE_NO_PAD decodes it: no padding, no stray trailing bits. */
function b64urlDecode(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  const bytes = Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0));
  return b64url(bytes) === text ? bytes : null;
}

function b64url(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** JSON as serde_json reads bytes: valid UTF-8, no byte-order mark. */
function parseJson(bytes) {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes));
  } catch {
    return undefined;
  }
}

const isObject = (v) => typeof v === 'object' && v !== null && !Array.isArray(v);

// ---- QR text and compact JWS -------------------------------------------------------------------

/** qr.rs decode: `HY1:` + Base45 of (u16 header length, header, u16 payload length, payload, signature). */
function qrDecode(text) {
  const body = text.slice(QR_PREFIX.length);
  if (longerThan(body, MAX_TOKEN_LEN)) throw new Refusal('token_too_large');
  const frame = base45Decode(body);
  if (!frame) throw new Refusal('malformed');
  const [header, rest] = takePart(frame);
  const [payload, signature] = takePart(rest);
  return `${b64url(header)}.${b64url(payload)}.${b64url(signature)}`;
}

function takePart(bytes) {
  if (bytes.length < 2) throw new Refusal('malformed');
  const length = (bytes[0] << 8) | bytes[1];
  if (bytes.length - 2 < length) throw new Refusal('malformed');
  return [bytes.subarray(2, 2 + length), bytes.subarray(2 + length)];
}

/** jws.rs split_within: the three decoded parts and the signed text, trusting nothing yet. */
function splitCompact(token, limits = RECORD_LIMITS) {
  if (longerThan(token, limits.token)) throw new Refusal('token_too_large');
  const last = token.lastIndexOf('.');
  const first = token.indexOf('.');
  if (first === last) throw new Refusal('malformed');
  const signingInput = token.slice(0, last);
  const parts = [token.slice(0, first), token.slice(first + 1, last), token.slice(last + 1)].map(b64urlDecode);
  if (parts.includes(null)) throw new Refusal('malformed');
  const [header, payload, signature] = parts;
  return { signingInput, header, payload, signature };
}

/**
 * The compact JWS that a presented text stands for (records.rs presented_token): trimmed, and QR
 * text decoded; refused as malformed or token_too_large when it cannot be one.
 */
export function decodeToken(text) {
  const trimmed = trim(String(text));
  const token = trimmed.startsWith(QR_PREFIX) ? qrDecode(trimmed) : trimmed;
  splitCompact(token);
  return token;
}

/** jws.rs Header: alg a string; kid, typ and zip strings when present. */
function readHeader(bytes) {
  const header = parseJson(bytes);
  const optionalString = (v) => v === undefined || v === null || typeof v === 'string';
  if (!isObject(header) || typeof header.alg !== 'string' || ![header.kid, header.typ, header.zip].every(optionalString)) {
    throw new Refusal('malformed');
  }
  return header;
}

/** jws.rs read_signed: everything checked before the signature, in its order, within the caps of `typ`. */
function readSigned(token, typ, store) {
  const limits = limitsOf(typ);
  const parts = splitCompact(token, limits);
  const header = readHeader(parts.header);
  if (!ALGS.includes(header.alg)) throw new Refusal('disallowed_algorithm');
  // RFC 7515 §4.1.11: extensions we do not understand must not be ignored.
  if (header.crit !== undefined && header.crit !== null) throw new Refusal('malformed');
  if (header.typ !== typ) throw new Refusal('wrong_type');
  if (typeof header.kid !== 'string') throw new Refusal('malformed');
  const key = store.resolve(header.kid);
  if (parts.signature.length !== 64) throw new Refusal('malformed');
  return { parts, header, key, limits };
}

/** jws.rs verify_compact: header, key, signature, then the payload, inflated if `zip: DEF`, within its cap. */
async function verifyCompact(token, typ, store) {
  const { parts, header, key, limits } = readSigned(token, typ, store);
  if (!(await signatureHolds(key.cryptoKey, parts))) throw new Refusal('bad_signature');
  if (header.zip === undefined || header.zip === null) {
    if (parts.payload.length > limits.payload) throw new Refusal('payload_too_large');
    return { payload: parts.payload, key };
  }
  if (header.zip !== 'DEF') throw new Refusal('malformed');
  return { payload: await inflate(parts.payload, limits.payload), key };
}

/** keys.rs VerifyingKey::verify: the strict encodings first, then the equation. */
async function signatureHolds(cryptoKey, { signingInput, signature }) {
  if (!isStrictSignature(signature)) return false;
  const message = new TextEncoder().encode(signingInput);
  return globalThis.crypto.subtle.verify({ name: 'Ed25519' }, cryptoKey, signature, message);
}

/** Bytes fed to the inflater at a time: a slice inflates to at most ~260 KiB before the cap is checked. */
const INFLATE_SLICE = 256;

/** jws.rs inflate: raw DEFLATE, stopped (and the stream cancelled) once past `most` bytes. */
async function inflate(compressed, most) {
  const stream = new DecompressionStream('deflate-raw');
  const writer = stream.writable.getWriter();
  const reader = stream.readable.getReader();
  const feeding = (async () => {
    for (let at = 0; at < compressed.length; at += INFLATE_SLICE) {
      await writer.write(compressed.slice(at, at + INFLATE_SLICE));
    }
    await writer.close();
  })().catch(() => {}); // a broken stream shows on the reading side
  const chunks = [];
  let length = 0;
  try {
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      length += read.value.length;
      if (length > most) {
        await reader.cancel();
        throw new Refusal('payload_too_large');
      }
      chunks.push(read.value);
    }
  } catch (error) {
    throw error instanceof Refusal ? error : new Refusal('malformed');
  } finally {
    await feeding;
  }
  const payload = new Uint8Array(length);
  chunks.reduce((at, chunk) => (payload.set(chunk, at), at + chunk.length), 0);
  return payload;
}

// ---- trust -------------------------------------------------------------------------------------

/** The node code of a kid `<node code>#<key id>`, or null. */
const kidNode = (kid) => (typeof kid === 'string' && kid.includes('#') ? kid.slice(0, kid.indexOf('#')) : null);

/** Every moment: the window of a key trusted outright (trust.rs add_node). */
const ALWAYS = { not_before: -Infinity };

/** domain/directory.rs KeyWindow::judge: compromise first, then the window (both ends inclusive). */
function judgeWindow(window, signedAt) {
  if (window.compromised_at != null && signedAt >= window.compromised_at) throw new Refusal('key_compromised');
  if (signedAt < window.not_before || (window.not_after != null && signedAt > window.not_after)) {
    throw new Refusal('key_out_of_window');
  }
}

/** trust.rs TrustedKey::vouches_for: the key's node wrote the record, inside the key's window. */
function vouchesFor(key, iss, signedAt) {
  if (iss !== key.issuer) throw new Refusal('issuer_mismatch');
  judgeWindow(key.window, signedAt);
}

/** The keys, directory entries and status lists a verification trusts (trust.rs TrustStore). */
export class TrustStore {
  keys = new Map();
  nodes = new Map();
  /** Serial and lifetime of the directory, if any. */
  stamp = null;
  /** Status lists by issuer code: { issued_at, expires_at, statuses: Map jti → status }. */
  lists = new Map();
  /** Status lists not taken, by issuer code, with the reason. */
  refused = {};

  /** trust.rs add_key: an Ed25519 JWK whose kid names `issuer`, trusted within `window`. */
  async addKey(issuer, issuerName, jwk, window) {
    const x = isObject(jwk) && jwk.kty === 'OKP' && jwk.crv === 'Ed25519' && typeof jwk.x === 'string' && b64urlDecode(jwk.x);
    if (typeof issuer !== 'string' || kidNode(jwk?.kid) !== issuer || !x || !isStrictPoint(x)) {
      throw new TrustError('key', `not an Ed25519 key of node ${issuer}: ${jwk?.kid}`);
    }
    const cryptoKey = await globalThis.crypto.subtle.importKey('raw', x, { name: 'Ed25519' }, false, ['verify']);
    this.keys.set(jwk.kid, { issuer, issuerName, cryptoKey, window });
  }

  /** trust.rs from_directory: every key of every node, whose windows win over keys trusted outright. */
  async addDirectory(claims) {
    for (const node of claims.nodes) {
      for (const key of node.keys) await this.addKey(node.code, node.name, key, key);
      this.nodes.set(node.code, node);
    }
    this.stamp = { serial: claims.serial, issued_at: claims.iat, expires_at: claims.exp };
  }

  /** trust.rs resolve: the key of `kid`, telling an unknown node from an unknown key of a known node. */
  resolve(kid) {
    const key = this.keys.get(kid);
    if (key) return key;
    const node = kidNode(kid) ?? kid;
    const known = this.nodes.has(node) || [...this.keys.values()].some((k) => k.issuer === node);
    throw new Refusal(known ? 'unknown_key' : 'unknown_issuer');
  }

  /** node/statuses.rs listed: what `issuer`'s list says of `jti`, and the evidence it is. */
  listed(issuer, jti) {
    const list = this.lists.get(issuer);
    if (!list) return { statuses: [], evidence: { source: 'unknown' } };
    const status = list.statuses.get(jti);
    return { statuses: status ? [status] : [], evidence: { source: 'status_list', ...list } };
  }

  /** What a verdict says of the trust data it used. */
  summary() {
    const issued = (list) => list.issued_at;
    return {
      directory_serial: this.stamp?.serial ?? null,
      directory_issued_at: this.stamp?.issued_at ?? null,
      directory_expires_at: this.stamp?.expires_at ?? null,
      status_lists: Object.fromEntries([...this.lists].map(([code, list]) => [code, issued(list)])),
      status_lists_refused: { ...this.refused },
    };
  }
}

/** records.rs claims_of: the payload as JSON, its schema, then the key's right to sign it. */
function claimsOf({ payload, key }, kind) {
  const value = parseJson(payload);
  if (value === undefined) throw new Refusal('malformed');
  if (!conformsTo(kind, value)) throw new Refusal('schema');
  vouchesFor(key, value.iss, value.iat);
  return value;
}

/** domain/directory.rs is_acceptable_url: TLS, or plain HTTP on this machine only. */
function isAcceptableUrl(url) {
  if (url.startsWith('https://')) return true;
  if (!url.startsWith('http://')) return false;
  const authority = url.slice('http://'.length).split(/[/?#]/)[0];
  const host = authority.slice(authority.lastIndexOf('@') + 1);
  const name = host.startsWith('[') ? host.slice(1).split(']')[0] : host.split(':')[0];
  return ['127.0.0.1', 'localhost', '::1'].includes(name);
}

/**
 * directory.rs open_directory: the signed trust directory's claims, checked against the registry
 * root key (its kid names the registry), the schema, the issuing registry and the node URLs.
 * Throws a TrustError.
 */
export async function openDirectory(directoryJws, registryJwk) {
  const registry = kidNode(registryJwk?.kid) ?? '';
  const anchor = new TrustStore();
  await anchor.addKey(registry, 'registry', registryJwk, ALWAYS);
  let verified;
  try {
    verified = await verifyCompact(trim(String(directoryJws)), DIRECTORY_TYP, anchor);
  } catch (error) {
    throw error instanceof Refusal ? new TrustError('token', error.code) : error;
  }
  const claims = parseJson(verified.payload);
  if (claims === undefined) throw new TrustError('token', 'malformed');
  if (!conformsTo('directory', claims)) throw new TrustError('schema');
  if (claims.iss !== registry) throw new TrustError('wrong_registry', `${claims.iss}, expected ${registry}`);
  const insecure = claims.nodes.find((n) => !isAcceptableUrl(n.api_url) || !isAcceptableUrl(n.peer_url));
  if (insecure) throw new TrustError('insecure_url', insecure.code);
  return claims;
}

/**
 * exchange/status.rs open_list: a status list of node `code`, signed by a key of that node. Like the
 * directory it goes through jws.rs verify_compact with the caps of its kind (MAX_STATUS_LIST_LEN,
 * the directory's MAX_DIRECTORY_LEN), so a list is refused here only where it is refused there.
 */
async function openStatusList(code, token, store) {
  const claims = claimsOf(await verifyCompact(trim(String(token)), STATUS_LIST_TYP, store), 'statusList');
  if (claims.iss !== code) throw new Refusal('issuer_mismatch');
  const statuses = new Map(claims.entries.map((entry) => [entry.jti, entry.status]));
  return { issued_at: claims.iat, expires_at: claims.exp, statuses };
}

/**
 * The trust store of cached trust data, to reuse across verifications:
 * `{ directory?, registry_key?, status_lists?: { code: jws }, keys?: [jwk] }`. `keys` are trusted
 * outright as keys of the node their kid names (a node's own JWKS, or test vectors); directory
 * keys win over them. A status list that cannot be opened is left out (see summary().status_lists_refused).
 * Throws a TrustError when the directory or a key cannot be used.
 */
export async function openTrust(trust = {}) {
  const store = new TrustStore();
  for (const jwk of trust.keys ?? []) await store.addKey(kidNode(jwk?.kid), kidNode(jwk?.kid), jwk, ALWAYS);
  if (trust.directory != null) await store.addDirectory(await openDirectory(trust.directory, trust.registry_key));
  for (const [code, token] of Object.entries(trust.status_lists ?? {})) {
    try {
      store.lists.set(code, await openStatusList(code, token, store));
    } catch (error) {
      if (!(error instanceof Refusal)) throw error;
      store.refused[code] = error.code;
    }
  }
  return store;
}

// ---- the verdict -------------------------------------------------------------------------------

/** division.rs is_responsible: the node of her hukou's township (9 digits + 000) or county (6 + 000000). */
function isResponsible(nodeCode, hukou) {
  if (!/^[0-9]{12}$/.test(hukou)) return false;
  return [`${hukou.slice(0, 9)}000`, `${hukou.slice(0, 6)}000000`].includes(nodeCode);
}

/** records.rs open_certificate: genuine, readable, vouched for, and from the responsible node. */
async function openCertificate(text, store) {
  const verified = await verifyCompact(decodeToken(text), CERTIFICATE_TYP, store);
  const claims = claimsOf(verified, 'certificate');
  if (!isResponsible(claims.iss, claims.person.hukou)) throw new Refusal('issuer_not_responsible');
  return { claims, issuer: { code: verified.key.issuer, name: verified.key.issuerName } };
}

/** verification.rs window_reasons: the window is half-open, [nbf, exp). */
function windowReasons(nbf, exp, now) {
  return [...(now < nbf ? ['not_yet_valid'] : []), ...(now >= exp ? ['expired'] : [])];
}

/** verification.rs recorded_reasons: each status once, revocation first. */
function recordedReasons(statuses) {
  return ['revoked', 'superseded'].filter((status) => statuses.includes(status));
}

/** verification.rs StatusEvidence::warning. */
function evidenceWarnings(evidence, now) {
  if (evidence.source === 'unknown') return ['status_unknown'];
  return now >= evidence.expires_at ? ['status_list_stale'] : [];
}

/** verification.rs overall_status: the most serious status of any reason. */
function overallStatus(reasons) {
  return reasons.reduce((worst, code) => {
    const status = REASONS[code][0];
    return STATUSES.indexOf(status) > STATUSES.indexOf(worst) ? status : worst;
  }, 'active');
}

const reasonView = (code) => ({ code, message_zh: REASONS[code][1], message_en: REASONS[code][2] });
const warningView = (code) => ({ code, message_zh: WARNINGS[code][0], message_en: WARNINGS[code][1] });

/**
 * Verifies QR text or a compact JWS at `nowSeconds` against `trust` (raw trust data, see
 * openTrust, or the TrustStore it returns), as service/verification.rs verify does with the status
 * held here: `{ valid, status, reasons, warnings, issuer, certificate, trust }`.
 */
export async function verifyOffline(text, trust, nowSeconds = Date.now() / 1000) {
  const now = Math.floor(nowSeconds);
  const store = trust instanceof TrustStore ? trust : await openTrust(trust);
  let reasons;
  let warnings = [];
  let genuine = null;
  try {
    genuine = await openCertificate(text, store);
    const { nbf, exp, iss, jti } = genuine.claims;
    const { statuses, evidence } = store.listed(iss, jti);
    reasons = [...windowReasons(nbf, exp, now), ...recordedReasons(statuses)];
    warnings = evidenceWarnings(evidence, now);
  } catch (error) {
    if (!(error instanceof Refusal)) throw error;
    reasons = [error.code];
  }
  if (store.stamp && now >= store.stamp.expires_at) warnings.push('directory_stale');
  const status = overallStatus(reasons);
  return {
    valid: status === 'active',
    status,
    reasons: reasons.map(reasonView),
    warnings: warnings.map(warningView),
    issuer: genuine?.issuer ?? null,
    certificate: genuine?.claims ?? null,
    trust: store.summary(),
  };
}

/** Every reason and warning with its messages (for pages that show codes from the server too). */
export const CODES = {
  reasons: Object.fromEntries(Object.keys(REASONS).map((code) => [code, reasonView(code)])),
  warnings: Object.fromEntries(Object.keys(WARNINGS).map((code) => [code, warningView(code)])),
};
