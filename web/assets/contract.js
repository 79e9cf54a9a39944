// The contract between jurisdictions as contract.rs checks it: the JSON Schemas of schemas/ (copied
// into schemas.js by vendor.sh), then what serde refuses beyond them when it reads the claims.

import * as schemas from './schemas.js';

/** Whether `value` meets the schema of `kind` (certificate, statusList, directory) and reads as its claims. */
export function conformsTo(kind, value) {
  const schema = schemas[kind];
  return conforms(schema, value, schema) && READABLE[kind](value);
}

/** The subset of JSON Schema 2020-12 that our schemas use; a keyword outside it is a defect here. */
function conforms(schema, value, root) {
  const object = isObject(value);
  return Object.entries(schema).every(([keyword, rule]) => {
    switch (keyword) {
      case '$schema': case '$id': case '$defs': case 'title': case 'description':
        return true;
      case '$ref':
        return conforms(rule.replace(/^#\//, '').split('/').reduce((s, part) => s[part], root), value, root);
      case 'type':
        return TYPES[rule](value);
      case 'required':
        return !object || rule.every((name) => Object.hasOwn(value, name));
      case 'properties':
        return !object || Object.entries(rule).every(([name, s]) => !Object.hasOwn(value, name) || conforms(s, value[name], root));
      case 'additionalProperties':
        if (rule !== false) throw new Error('schema: only additionalProperties: false is supported');
        return !object || Object.keys(value).every((name) => Object.hasOwn(schema.properties ?? {}, name));
      case 'items':
        return !Array.isArray(value) || value.every((item) => conforms(rule, item, root));
      case 'maxItems':
        return !Array.isArray(value) || value.length <= rule;
      case 'enum':
        return rule.includes(value);
      case 'const':
        return value === rule;
      case 'minimum':
        return typeof value !== 'number' || value >= rule;
      case 'minLength':
        return typeof value !== 'string' || Array.from(value).length >= rule;
      case 'maxLength':
        return typeof value !== 'string' || Array.from(value).length <= rule;
      case 'pattern':
        return typeof value !== 'string' || new RegExp(rule, 'u').test(value);
      case 'format':
        return typeof value !== 'string' || FORMATS[rule](value);
      default:
        throw new Error(`schema keyword ${keyword} is not supported by contract.js`);
    }
  });
}

function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const TYPES = {
  object: isObject,
  array: Array.isArray,
  string: (v) => typeof v === 'string',
  integer: Number.isInteger,
};

const FORMATS = {
  // jsonschema's uuid: hyphenated hex (uuid-simd parse_hyphenated).
  uuid: (s) => /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(s),
  // jsonschema's date: YYYY-MM-DD, a day of the proleptic Gregorian calendar.
  date: (s) => /^\d{4}-\d{2}-\d{2}$/.test(s) && isRealDate(+s.slice(0, 4), +s.slice(5, 7), +s.slice(8, 10)),
  uri: isUri,
};

function isRealDate(year, month, day) {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return day >= 1 && day <= (days ?? 0);
}

// jsonschema's rfc3986.rs: character classes of an absolute URI, scanned without building it.
const REG_NAME = 1, COLON = 2, AT = 4, SLASH = 8, QUESTION = 16, PERCENT = 32;
const PATH = REG_NAME | COLON | AT | SLASH;
const QUERY = PATH | QUESTION;
const AUTHORITY = REG_NAME | COLON | AT;

function charClass(c) {
  if (/[A-Za-z0-9\-._~!$&'()*+,;=]/.test(c)) return REG_NAME;
  return { ':': COLON, '@': AT, '/': SLASH, '?': QUESTION, '%': PERCENT }[c] ?? 0;
}

/** The end of the run of characters in `cls` from `at`, or -1 on a broken percent-encoding. */
function scan(text, at, cls) {
  while (at < text.length) {
    const found = charClass(text[at]);
    if (found & cls) at += 1;
    else if (found === PERCENT) {
      if (!/^[0-9A-Fa-f]{2}$/.test(text.slice(at + 1, at + 3))) return -1;
      at += 3;
    } else break;
  }
  return at;
}

function isUri(text) {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:/.exec(text);
  if (!scheme) return false;
  let at = scheme[0].length;
  if (text.startsWith('//', at)) {
    const end = scan(text, at + 2, AUTHORITY);
    if (end < 0) return false;
    // An IP literal: Rust hands it to a full parser; its shape is checked here, not its address.
    if (text[end] === '[' || text[end] === ']') return IP_LITERAL_URI.test(text);
    const hostPort = text.slice(at + 2, end).replace(/^[^@]*@/, '');
    if (!/^[^:@]*(:[0-9]*)?$/.test(hostPort)) return false;
    at = end;
  }
  at = scan(text, at, PATH);
  if (at >= 0 && text[at] === '?') at = scan(text, at + 1, QUERY);
  if (at >= 0 && text[at] === '#') at = scan(text, at + 1, QUERY);
  return at === text.length;
}

const IP_LITERAL_URI =
  /^[A-Za-z][A-Za-z0-9+.-]*:\/\/(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2})*@?\[(?:[0-9A-Fa-f:.]+|v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+)\](?::[0-9]*)?(?:[/?#][A-Za-z0-9\-._~!$&'()*+,;=:@/?#%]*)?$/u;

// What serde refuses after the schema passed: numbers beyond the Rust field's type, and an ID number
// that is not one (claims.rs Holder reads `person.id_number` as an IdNumber).
const isI64 = (n) => Number.isInteger(n) && n >= -(2 ** 63) && n < 2 ** 63;
const isU64 = (n) => Number.isInteger(n) && n >= 0 && n < 2 ** 64;
const isU32 = (n) => Number.isInteger(n) && n >= 0 && n < 2 ** 32;

const READABLE = {
  certificate: (c) => isU32(c.ver) && [c.iat, c.nbf, c.exp].every(isI64) && isIdNumber(c.person.id_number),
  statusList: (l) => [l.iat, l.exp].every(isI64),
  directory: (d) =>
    [d.iat, d.exp].every(isI64) &&
    isU64(d.serial) &&
    d.nodes.every((n) => n.keys.every((k) => [k.not_before, k.not_after ?? 0, k.compromised_at ?? 0].every(isI64))),
};

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';

/** id_number.rs parse (with no upper bound on the birth date, as its Deserialize has). */
export function isIdNumber(text) {
  if (typeof text !== 'string' || Array.from(text).length !== 18 || !/^[0-9]{17}[0-9Xx]$/.test(text)) return false;
  const [year, month, day] = [text.slice(6, 10), text.slice(10, 12), text.slice(12, 14)].map(Number);
  if (!provinceExists(+text.slice(0, 2)) || year < 1800 || !isRealDate(year, month, day)) return false;
  const sum = WEIGHTS.reduce((s, w, i) => s + w * +text[i], 0);
  return CHECK[sum % 11] === text[17].toUpperCase();
}

/** division.rs province_exists. */
function provinceExists(n) {
  return [[11, 15], [21, 23], [31, 37], [41, 46], [50, 54], [61, 65], [71, 71], [81, 82]].some(([a, b]) => n >= a && n <= b);
}
