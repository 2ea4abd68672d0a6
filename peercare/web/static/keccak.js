// Keccak-256 (the pre-standard padding Ethereum uses, not SHA3-256) and EIP-55 checksummed
// addresses: wallets often return addresses in lower case, and a Sign-In with Ethereum message
// must name the address checksummed. Lanes are 64-bit BigInts; one hash of an address is cheap.

const MASK = (1n << 64n) - 1n;
const RATE = 136; // bytes absorbed per permutation: (1600 - 2 * 256) / 8

// Round constants (from the spec's LFSR) and rho rotation offsets with the pi lane order.
const ROUND_CONSTANTS = (() => {
  const constants = [];
  let r = 1;
  for (let round = 0; round < 24; round++) {
    let constant = 0n;
    for (let j = 0; j < 7; j++) {
      if (r & 1) constant ^= 1n << BigInt((1 << j) - 1);
      r = r & 0x80 ? ((r << 1) ^ 0x71) & 0xff : r << 1;
    }
    constants.push(constant);
  }
  return constants;
})();
const ROTATIONS = (() => {
  const offsets = new Array(25).fill(0n);
  let x = 1;
  let y = 0;
  for (let t = 0; t < 24; t++) {
    offsets[x + 5 * y] = BigInt((((t + 1) * (t + 2)) / 2) % 64);
    [x, y] = [y, (2 * x + 3 * y) % 5];
  }
  return offsets;
})();

function rotl(value, shift) {
  return shift === 0n ? value : ((value << shift) | (value >> (64n - shift))) & MASK;
}

function permute(state) {
  const c = new Array(5);
  const b = new Array(25);
  for (const constant of ROUND_CONSTANTS) {
    for (let x = 0; x < 5; x++) c[x] = state[x] ^ state[x + 5] ^ state[x + 10] ^ state[x + 15] ^ state[x + 20];
    for (let x = 0; x < 5; x++) {
      const d = c[(x + 4) % 5] ^ rotl(c[(x + 1) % 5], 1n);
      for (let y = 0; y < 25; y += 5) state[x + y] ^= d;
    }
    for (let x = 0; x < 5; x++) {
      for (let y = 0; y < 5; y++) b[y + 5 * ((2 * x + 3 * y) % 5)] = rotl(state[x + 5 * y], ROTATIONS[x + 5 * y]);
    }
    for (let i = 0; i < 25; i++) {
      const row = i - (i % 5);
      state[i] = b[i] ^ (~b[row + ((i + 1) % 5)] & MASK & b[row + ((i + 2) % 5)]);
    }
    state[0] ^= constant;
  }
}

/** keccak256 of bytes (a Uint8Array), as 32 bytes. */
export function keccak256(bytes) {
  const padded = new Uint8Array(Math.floor(bytes.length / RATE + 1) * RATE);
  padded.set(bytes);
  padded[bytes.length] ^= 0x01;
  padded[padded.length - 1] ^= 0x80;
  const state = new Array(25).fill(0n);
  for (let offset = 0; offset < padded.length; offset += RATE) {
    for (let lane = 0; lane < RATE / 8; lane++) {
      let value = 0n;
      for (let k = 7; k >= 0; k--) value = (value << 8n) | BigInt(padded[offset + lane * 8 + k]);
      state[lane] ^= value;
    }
    permute(state);
  }
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((state[i >> 3] >> BigInt(8 * (i & 7))) & 0xffn);
  return out;
}

/** The EIP-55 checksummed form of a 20-byte hex address; throws on anything else. */
export function checksumAddress(address) {
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw new Error(`${address} is not a 20-byte hex address`);
  const lower = address.slice(2).toLowerCase();
  const hash = keccak256(new TextEncoder().encode(lower));
  let out = "0x";
  for (let i = 0; i < 40; i++) {
    const nibble = (hash[i >> 1] >> (i % 2 === 0 ? 4 : 0)) & 0xf;
    out += nibble >= 8 ? lower[i].toUpperCase() : lower[i];
  }
  return out;
}
