import {
  createCipheriv,
  createDecipheriv,
  createHash,
  randomBytes,
  type ScryptOptions,
  scrypt,
  timingSafeEqual,
} from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * Encryption of PSA secrets at rest: AES-256-GCM with a random 96-bit IV per encryption and the owner
 * (partner) id bound in as associated data, so a ciphertext copied to another partner's row does not
 * decrypt (docs/reliability.md, Credential encryption). The master key never enters the database; each
 * ciphertext names the key it was made with (a short key id) so a rotated key can be told apart.
 */
export class SecretBox {
  readonly keyId: string;
  readonly #key: Buffer;

  constructor(key: Buffer) {
    if (key.length !== 32) throw new Error(`master key must be 32 bytes, got ${key.length}`);
    this.#key = Buffer.from(key);
    this.keyId = createHash("sha256").update(key).digest("hex").slice(0, 8);
  }

  /** Encrypts `plaintext` for `purpose` of `ownerId`; returns `v1.<keyId>.<iv>.<tag>.<ciphertext>` (base64url parts). */
  encrypt(plaintext: string, ownerId: string | number, purpose = "psa-secret"): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv);
    cipher.setAAD(aad(ownerId, purpose));
    const ct = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [
      "v1",
      this.keyId,
      iv.toString("base64url"),
      tag.toString("base64url"),
      ct.toString("base64url"),
    ].join(".");
  }

  /** Decrypts what `encrypt` made for the same owner and purpose; throws on any tampering or mismatch. */
  decrypt(sealed: string, ownerId: string | number, purpose = "psa-secret"): string {
    const parts = sealed.split(".");
    if (parts.length !== 5 || parts[0] !== "v1") throw new Error("not a nocbridge sealed secret");
    const [, keyId, ivB64, tagB64, ctB64] = parts as [string, string, string, string, string];
    if (keyId !== this.keyId)
      throw new Error(`secret was sealed with key ${keyId}, the current key is ${this.keyId}`);
    const iv = Buffer.from(ivB64, "base64url");
    const tag = Buffer.from(tagB64, "base64url");
    if (iv.length !== 12 || tag.length !== 16) throw new Error("sealed secret is malformed");
    const decipher = createDecipheriv("aes-256-gcm", this.#key, iv, { authTagLength: 16 });
    decipher.setAAD(aad(ownerId, purpose));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(Buffer.from(ctB64, "base64url")), decipher.final()]).toString(
        "utf8",
      );
    } catch {
      throw new Error("secret failed authentication (tampered, or sealed for another partner)");
    }
  }
}

function aad(ownerId: string | number, purpose: string): Buffer {
  return Buffer.from(`nocbridge|partner:${ownerId}|${purpose}`, "utf8");
}

/**
 * Parses NOCBRIDGE_MASTER_KEY: 64 hex characters or base64 of 32 bytes.
 * @throws naming the variable when the value is not a 32-byte key.
 */
export function parseMasterKey(value: string): Buffer {
  const v = value.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(v) ? Buffer.from(v, "hex") : Buffer.from(v, "base64");
  if (key.length !== 32) {
    throw new Error("NOCBRIDGE_MASTER_KEY must be 32 bytes, as 64 hex characters or base64");
  }
  return key;
}

/** Reads the key file, creating it (mode 0600) with a fresh random key when it does not exist. */
export function loadOrCreateKeyFile(path: string): Buffer {
  if (existsSync(path)) return parseMasterKey(readFileSync(path, "utf8"));
  mkdirSync(dirname(path), { recursive: true });
  const key = randomBytes(32);
  writeFileSync(path, `${key.toString("hex")}\n`, { mode: 0o600, flag: "wx" });
  chmodSync(path, 0o600);
  return key;
}

/** A new API token: 32 random bytes, prefixed so it is recognisable in a leaked log. */
export function newToken(): string {
  return `nbt_${randomBytes(32).toString("base64url")}`;
}

/** Tokens are high-entropy, so a plain SHA-256 is the right stored form (no salt or slow hash needed). */
export function hashToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

/** scrypt parameters: N=2^15, r=8, p=1 (OWASP's minimum for scrypt), 32-byte key, 16-byte salt. */
const SCRYPT = { N: 32768, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

/** node:crypto's asynchronous scrypt: the work runs in libuv's thread pool, never on the event loop. */
function scryptAsync(password: string, salt: Buffer, length: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, length, opts, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/**
 * Password hashing. An object, so tests can count the work done (an unknown username must cost the
 * same scrypt as a known one).
 */
export const passwords = {
  /** A password's stored form: `scrypt$N$r$p$<salt>$<hash>` (base64url). */
  async hash(password: string): Promise<string> {
    const salt = randomBytes(16);
    const hash = await scryptAsync(password, salt, 32, SCRYPT);
    return [
      "scrypt",
      SCRYPT.N,
      SCRYPT.r,
      SCRYPT.p,
      salt.toString("base64url"),
      hash.toString("base64url"),
    ].join("$");
  },

  /** Checks a password against `hash`'s output in constant time. */
  async verify(password: string, stored: string): Promise<boolean> {
    const [kind, n, r, p, saltB64, hashB64] = stored.split("$");
    if (kind !== "scrypt" || !saltB64 || !hashB64) return false;
    const expected = Buffer.from(hashB64, "base64url");
    const got = await scryptAsync(password, Buffer.from(saltB64, "base64url"), expected.length, {
      N: Number(n),
      r: Number(r),
      p: Number(p),
      maxmem: SCRYPT.maxmem,
    });
    return got.length === expected.length && timingSafeEqual(got, expected);
  },
};
