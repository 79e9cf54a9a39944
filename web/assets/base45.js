// Base45 (RFC 9285), strict: what the Rust `base45` crate decodes plus qr.rs's tail check.
// Written here rather than vendored: the npm `base45` package is CommonJS on Node's Buffer and
// accepts any character, and `@digitalbazaar/base45` decodes characters above U+00FF as 0.

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:';

/** The bytes of `text`, or null when it is not the one Base45 encoding of any bytes. */
export function decode(text) {
  const values = Array.from(text, (c) => ALPHABET.indexOf(c));
  if (values.includes(-1) || values.length % 3 === 1) return null;
  const out = new Uint8Array(Math.floor(values.length / 3) * 2 + (values.length % 3 ? 1 : 0));
  for (let i = 0, o = 0; i < values.length; i += 3, o += 2) {
    const [a, b, c] = values.slice(i, i + 3);
    // A full group is at most 65535; a two-character tail is one byte (RFC 9285 §4).
    const n = c === undefined ? a + 45 * b : a + 45 * b + 2025 * c;
    if (n > (c === undefined ? 0xff : 0xffff)) return null;
    if (c === undefined) out[o] = n;
    else out.set([n >> 8, n & 0xff], o);
  }
  return out;
}

/** The Base45 text of `bytes`. */
export function encode(bytes) {
  let text = '';
  for (let i = 0; i < bytes.length; i += 2) {
    let n = i + 1 < bytes.length ? bytes[i] * 256 + bytes[i + 1] : bytes[i];
    const digits = i + 1 < bytes.length ? 3 : 2;
    for (let d = 0; d < digits; d++, n = Math.floor(n / 45)) text += ALPHABET[n % 45];
  }
  return text;
}
