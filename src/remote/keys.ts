/**
 * Ed25519 keys and detached signatures for remote job documents.
 *
 * Formats (see `docs/REMOTE.md`):
 * - private key: a PKCS#8 PEM file (`-----BEGIN PRIVATE KEY-----`), the form
 *   `openssl genpkey -algorithm ed25519` writes, so operators can use either
 *   tool; written with mode 0600 and never over an existing file.
 * - public key: one line, the base64 of the raw 32-byte key (`NAME.pub`), the
 *   value that goes into `[remote] public_key`.
 * - signature file (`FILE.sig`): two lines of text, `cairn-signature-v1 ed25519`
 *   and the base64 of the 64-byte signature.
 *
 * What is signed is not the bare document but {@link SIGNING_CONTEXT} followed
 * by the document bytes. The prefix is domain separation: a signature made for a
 * job document can never be replayed as a valid signature over something else
 * signed by the same key (and vice versa) in this or a future protocol.
 */

/** Prefix bound into every signature; changing it invalidates all signatures. */
export const SIGNING_CONTEXT = "cairn-jobs-v1\n";

/** First line of a signature file: format version and algorithm. */
export const SIGNATURE_HEADER = "cairn-signature-v1 ed25519";

const ED25519 = { name: "Ed25519" } as const;
const PEM_LABEL = "PRIVATE KEY";

/** A key or signature file that cannot be read as one. Callers may branch on it. */
export class KeyFormatError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "KeyFormatError";
  }
}

/** Generates a new extractable Ed25519 key pair. */
export async function generateKeyPair(): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(ED25519, true, ["sign", "verify"]) as CryptoKeyPair;
}

/** Paths and public key text that {@link writeKeyPair} produced. */
export interface WrittenKeyPair {
  privatePath: string;
  publicPath: string;
  /** The one-line base64 public key, as written to `publicPath`. */
  publicKey: string;
}

/**
 * Writes a new key pair to `outPath` (private, mode 0600) and `outPath.pub`.
 *
 * Refuses to overwrite either file: losing a signing key by typo is worse
 * than an error. Both files are created with `createNew` (O_EXCL), so a file
 * appearing between a check and the write cannot be clobbered either.
 */
export async function writeKeyPair(outPath: string): Promise<WrittenKeyPair> {
  const publicPath = `${outPath}.pub`;
  const pair = await generateKeyPair();
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const publicKey = await exportPublicKey(pair.publicKey);
  await writeNew(outPath, new TextEncoder().encode(toPem(pkcs8)), 0o600);
  try {
    await writeNew(publicPath, new TextEncoder().encode(publicKey + "\n"), 0o644);
  } catch (err) {
    // Leave nothing half-made: a private key without its public half is
    // confusing and the next attempt would refuse to overwrite it.
    await Deno.remove(outPath).catch(() => {});
    throw err;
  }
  return { privatePath: outPath, publicPath, publicKey };
}

/** Reads a PKCS#8 PEM Ed25519 private key for signing. */
export async function loadPrivateKey(path: string): Promise<CryptoKey> {
  const text = await Deno.readTextFile(path);
  const der = fromPem(text, path);
  try {
    return await crypto.subtle.importKey("pkcs8", der, ED25519, false, ["sign"]);
  } catch (err) {
    throw new KeyFormatError(`Cannot load private key "${path}": not an Ed25519 key`, {
      cause: err,
    });
  }
}

/** Imports a one-line base64 raw Ed25519 public key (the `NAME.pub` content). */
export async function parsePublicKey(base64: string): Promise<CryptoKey> {
  const text = base64.trim();
  // 32 bytes encode to 43 characters plus one "=". Checked by shape first
  // because fromBase64 tolerates whitespace and missing padding.
  if (!/^[A-Za-z0-9+/]{43}=$/.test(text)) {
    throw new KeyFormatError(
      `Invalid public key "${preview(text)}": expected base64 of a 32-byte Ed25519 key`,
    );
  }
  return await importPublicKey(Uint8Array.fromBase64(text));
}

/** Imports a raw 32-byte Ed25519 public key (as the job parser's `RemoteConfig` holds it). */
export async function importPublicKey(raw: Uint8Array): Promise<CryptoKey> {
  if (raw.length !== 32) {
    throw new KeyFormatError(`Invalid public key: expected 32 bytes, got ${raw.length}`);
  }
  return await crypto.subtle.importKey("raw", new Uint8Array(raw), ED25519, true, ["verify"]);
}

/** The one-line base64 form of a public key. */
export async function exportPublicKey(key: CryptoKey): Promise<string> {
  return new Uint8Array(await crypto.subtle.exportKey("raw", key)).toBase64();
}

/** Signs a job document; returns the bytes of its `.sig` file. */
export async function signDocument(
  bytes: Uint8Array,
  key: CryptoKey,
): Promise<Uint8Array<ArrayBuffer>> {
  const sig = new Uint8Array(await crypto.subtle.sign(ED25519, key, signedMessage(bytes)));
  return new TextEncoder().encode(`${SIGNATURE_HEADER}\n${sig.toBase64()}\n`);
}

/** Signs `path` with the private key at `keyPath`, writing `path.sig`. */
export async function signFile(path: string, keyPath: string): Promise<string> {
  const key = await loadPrivateKey(keyPath);
  const sig = await signDocument(await Deno.readFile(path), key);
  const sigPath = `${path}.sig`;
  await Deno.writeFile(sigPath, sig);
  return sigPath;
}

/**
 * Reads a `.sig` file into the raw 64-byte signature.
 * @throws {KeyFormatError} naming what is wrong, when it is not one.
 */
export function parseSignature(sigFile: Uint8Array): Uint8Array {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(sigFile);
  } catch (err) {
    throw new KeyFormatError("Invalid signature file: not UTF-8 text", { cause: err });
  }
  const lines = text.replace(/\r?\n$/, "").split(/\r?\n/);
  if (lines.length !== 2 || lines[0].trim() !== SIGNATURE_HEADER) {
    throw new KeyFormatError(`Invalid signature file: expected "${SIGNATURE_HEADER}" and one line`);
  }
  const b64 = lines[1].trim();
  // 64 bytes encode to 86 characters plus "==".
  if (!/^[A-Za-z0-9+/]{86}==$/.test(b64)) {
    throw new KeyFormatError("Invalid signature file: expected base64 of a 64-byte signature");
  }
  return Uint8Array.fromBase64(b64);
}

/** True when `sigFile` (a `.sig` file's bytes) is a valid signature of `bytes`. */
export async function verifyDocument(
  bytes: Uint8Array,
  sigFile: Uint8Array,
  publicKey: CryptoKey,
): Promise<boolean> {
  let sig: Uint8Array<ArrayBuffer>;
  try {
    sig = new Uint8Array(parseSignature(sigFile));
  } catch {
    return false;
  }
  return await crypto.subtle.verify(ED25519, publicKey, sig, signedMessage(bytes));
}

function signedMessage(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const prefix = new TextEncoder().encode(SIGNING_CONTEXT);
  const out = new Uint8Array(prefix.length + bytes.length);
  out.set(prefix);
  out.set(bytes, prefix.length);
  return out;
}

async function writeNew(path: string, data: Uint8Array, mode: number): Promise<void> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { write: true, createNew: true, mode });
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) {
      throw new Deno.errors.AlreadyExists(`Cannot write key "${path}": file exists`, {
        cause: err,
      });
    }
    throw err;
  }
  try {
    // mode at creation is filtered by the umask, which can only narrow it;
    // chmod makes the result exact whatever the umask.
    await Deno.chmod(path, mode);
    await writeAll(file, data);
    await file.sync();
  } finally {
    file.close();
  }
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await file.write(data.subarray(off));
}

function toPem(der: Uint8Array): string {
  const b64 = der.toBase64();
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${PEM_LABEL}-----\n${lines.join("\n")}\n-----END ${PEM_LABEL}-----\n`;
}

function fromPem(text: string, path: string): Uint8Array<ArrayBuffer> {
  const m = text.match(
    new RegExp(`-----BEGIN ${PEM_LABEL}-----([A-Za-z0-9+/=\\s]+)-----END ${PEM_LABEL}-----`),
  );
  if (!m) {
    throw new KeyFormatError(`Cannot load private key "${path}": not a PEM "${PEM_LABEL}" file`);
  }
  return new Uint8Array(Uint8Array.fromBase64(m[1].replace(/\s+/g, "")));
}

function preview(s: string): string {
  const clean = s.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > 20 ? clean.slice(0, 20) + "…" : clean;
}
