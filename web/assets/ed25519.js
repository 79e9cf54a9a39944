// The strict Ed25519 rules of seal/keys.rs that WebCrypto does not apply by itself: a key must be
// a canonical point not of small order, a signature's R a canonical encoding not of small order
// and its S below the group order. WebCrypto then checks the equation.

const P = 2n ** 255n - 19n;
/** The order of the base point. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const D = mod(-121665n * power(121666n, P - 2n));
/** y of the points of order 8 (x² = -y² there, so d·y⁴ + 2·y² - 1 = 0; a test checks it). */
export const Y8 = 0x7a03ac9277fdc74ec6cc392cfa53202a0f67100d760b3cba4fd84d3d706a17c7n;
/** y of the eight points of small order: identity, order 2, order 4, order 8. */
const SMALL_ORDER_Y = [1n, P - 1n, 0n, Y8, P - Y8];

function mod(a) {
  return ((a % P) + P) % P;
}

function power(base, exponent) {
  let result = 1n;
  for (base = mod(base); exponent > 0n; exponent >>= 1n, base = (base * base) % P) {
    if (exponent & 1n) result = (result * base) % P;
  }
  return result;
}

function littleEndian(bytes) {
  return bytes.reduceRight((n, byte) => (n << 8n) | BigInt(byte), 0n);
}

/** keys.rs is_strict_encoding: y below p, and not the y of a point of small order. */
export function isStrictEncoding(bytes) {
  const y = littleEndian(bytes) & ((1n << 255n) - 1n);
  return bytes.length === 32 && y < P && !SMALL_ORDER_Y.includes(y);
}

/** keys.rs VerifyingKey::from_jwk: a strict encoding of a point on the curve. */
export function isStrictPoint(bytes) {
  if (!isStrictEncoding(bytes)) return false;
  const y = littleEndian(bytes) & ((1n << 255n) - 1n);
  // x² = (y² - 1) / (d·y² + 1) must be a square (Euler's criterion).
  const x2 = mod((y * y - 1n) * power(D * y * y + 1n, P - 2n));
  return x2 === 0n || power(x2, (P - 1n) / 2n) === 1n;
}

/** keys.rs strict_signature: S below the group order, R a strict encoding. */
export function isStrictSignature(signature) {
  return signature.length === 64 && littleEndian(signature.subarray(32)) < L && isStrictEncoding(signature.subarray(0, 32));
}
