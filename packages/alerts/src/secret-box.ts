import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { ValidationError } from "@chainscreen/errors";

const PREFIX = "enc:v1:";

/**
 * Encrypts signing secrets at rest (AES-256-GCM). HMAC needs the plain secret, so it cannot be
 * hashed like an API key; with a SecretBox, a reader of the `webhook_secrets` table without the
 * key learns nothing. Values without the `enc:v1:` prefix are read as plain (migration path).
 */
export class SecretBox {
  readonly #key: Buffer;

  /** `key`: 32 bytes, e.g. from `openssl rand -base64 32`. */
  constructor(key: Buffer) {
    if (key.length !== 32) throw new ValidationError("secret box key must be 32 bytes");
    this.#key = key;
  }

  /** From a base64 key (environment variable). */
  static fromBase64(b64: string): SecretBox {
    return new SecretBox(Buffer.from(b64, "base64"));
  }

  /** `enc:v1:` + base64(iv ‖ tag ‖ ciphertext). */
  seal(plain: string): string {
    const iv = randomBytes(12);
    const c = createCipheriv("aes-256-gcm", this.#key, iv);
    const ct = Buffer.concat([c.update(plain, "utf8"), c.final()]);
    return PREFIX + Buffer.concat([iv, c.getAuthTag(), ct]).toString("base64");
  }

  /** Reverses {@link seal}; plain values pass through. Throws on a wrong key or tampering. */
  open(stored: string): string {
    if (!stored.startsWith(PREFIX)) return stored;
    const raw = Buffer.from(stored.slice(PREFIX.length), "base64");
    const d = createDecipheriv("aes-256-gcm", this.#key, raw.subarray(0, 12));
    d.setAuthTag(raw.subarray(12, 28));
    try {
      return Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString("utf8");
    } catch (err) {
      throw new ValidationError("signing secret cannot be decrypted (wrong key?)", { cause: err });
    }
  }
}
