/**
 * A second reader of the repository format, written from docs/FORMAT.md
 * alone with WebCrypto, node:zlib and Argon2id: it shares no code with
 * src/crypto or src/repo, so a test that opens a repository with it proves
 * that what cairn writes is what the document says (and the other way).
 *
 * It checks as it reads and throws on the first thing that differs from
 * the document; it is for tests only and makes no attempt to be fast.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { createHash, createHmac } from "node:crypto";
import { zstdDecompressSync } from "node:zlib";
import { argon2id } from "hash-wasm";

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

/** Bytes of a string as the document writes them (ASCII labels). */
export function ascii(s: string): Uint8Array {
  return enc.encode(s);
}

function b64(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, "base64"));
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

function fail(msg: string): never {
  throw new Error(`format: ${msg}`);
}

/** HKDF-SHA-256(ikm, salt, "cairn v1 " + purpose) as an AES-256-GCM key, via WebCrypto. */
export async function docFileKey(
  ikm: Uint8Array,
  salt: Uint8Array,
  purpose: string,
): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey("raw", ikm as BufferSource, "HKDF", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    {
      name: "HKDF",
      hash: "SHA-256",
      salt: salt as BufferSource,
      info: ascii(`cairn v1 ${purpose}`) as BufferSource,
    },
    base,
    256,
  );
  return await crypto.subtle.importKey("raw", bits, "AES-GCM", false, ["decrypt", "encrypt"]);
}

/** Opens `nonce (12) ‖ ciphertext ‖ tag (16)` with `aad`. */
export async function docOpen(
  key: CryptoKey,
  sealed: Uint8Array,
  aad: Uint8Array,
): Promise<Uint8Array> {
  if (sealed.length < 28) fail(`sealed object of ${sealed.length} bytes`);
  const pt = await crypto.subtle.decrypt(
    {
      name: "AES-GCM",
      iv: sealed.subarray(0, 12) as BufferSource,
      additionalData: aad as BufferSource,
      tagLength: 128,
    },
    key,
    sealed.subarray(12) as BufferSource,
  );
  return new Uint8Array(pt);
}

/** The segment AAD: `"cairn v1 segment "` ‖ `d`/`t` ‖ offset (u64 LE). */
export function docSegmentAad(code: "d" | "t", offset: number): Uint8Array {
  const prefix = ascii(`cairn v1 segment ${code}`);
  const out = new Uint8Array(prefix.length + 8);
  out.set(prefix);
  new DataView(out.buffer).setBigUint64(prefix.length, BigInt(offset), true);
  return out;
}

/** The master key's three secrets. */
export interface DocMasterKey {
  enc: Uint8Array;
  id: Uint8Array;
  chunker: Uint8Array;
}

/** Opens a key file with `password` as the "Keys" section describes. */
export async function docOpenKeyFile(bytes: Uint8Array, password: string): Promise<DocMasterKey> {
  const k = JSON.parse(dec.decode(bytes));
  if (k.version !== 1 || k.kdf !== "argon2id") fail(`key file version ${k.version} kdf ${k.kdf}`);
  const salt = b64(k.salt);
  if (salt.length < 16 || salt.length > 64) fail(`key file salt of ${salt.length} bytes`);
  const raw = await argon2id({
    password,
    salt,
    parallelism: k.parallelism,
    iterations: k.iterations,
    memorySize: k.memory_kib,
    hashLength: 32,
    outputType: "binary",
  });
  const key = await docFileKey(raw, salt, "key file");
  const secret = JSON.parse(
    dec.decode(await docOpen(key, b64(k.data), ascii("cairn key file v1"))),
  );
  const master = { enc: b64(secret.enc), id: b64(secret.id), chunker: b64(secret.chunker) };
  for (const [name, v] of Object.entries(master)) {
    if (v.length !== 32) fail(`master ${name} key of ${v.length} bytes`);
  }
  return master;
}

/** Opens a sealed JSON file: `salt (16) ‖ seal(file key, zstd(JSON))`, AAD `"cairn v1 file " ‖ kind`. */
export async function docOpenSealedJson(
  master: DocMasterKey,
  kind: string,
  bytes: Uint8Array,
): Promise<unknown> {
  const salt = bytes.subarray(0, 16);
  const key = await docFileKey(master.enc, salt, kind);
  const body = await docOpen(key, bytes.subarray(16), ascii(`cairn v1 file ${kind}`));
  return JSON.parse(dec.decode(zstdDecompressSync(body)));
}

/** SHA-256 of `bytes` in lowercase hex: every file's name but `config`'s. */
export function docName(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** A blob's place, as index files and pack trailers list it. */
type BlobTuple = [string, string, number, number, number, number];

/** Reads a repository's files through `load` and gives back every blob by id. */
export interface DocRepository {
  master: DocMasterKey;
  config: Record<string, unknown>;
  snapshots: Map<string, Record<string, unknown>>;
  blobs: Map<string, { type: "d" | "t"; plain: Uint8Array }>;
}

/**
 * Reads a whole local repository at `dir` as the document describes it:
 * key files, config, snapshots and index files (each checked against its
 * name), then every pack (magic, salt, trailer, segments), verifying every
 * blob's keyed id.
 */
export async function docReadRepository(dir: string, password: string): Promise<DocRepository> {
  const list = async (sub: string) => {
    const names: string[] = [];
    for await (const e of Deno.readDir(`${dir}/${sub}`)) if (e.isFile) names.push(e.name);
    return names.sort();
  };
  const named = async (sub: string, name: string) => {
    const bytes = await Deno.readFile(`${dir}/${sub}/${name}`);
    if (docName(bytes) !== name) fail(`${sub}/${name} does not hash to its name`);
    return bytes;
  };
  let master: DocMasterKey | undefined;
  for (const name of await list("keys")) {
    try {
      master = await docOpenKeyFile(await named("keys", name), password);
      break;
    } catch { /* another password's key */ }
  }
  if (!master) fail("no key file opens with the password");
  const config = await docOpenSealedJson(
    master,
    "config",
    await Deno.readFile(`${dir}/config`),
  ) as Record<string, unknown>;
  const snapshots = new Map<string, Record<string, unknown>>();
  for (const name of await list("snapshots")) {
    const s = await docOpenSealedJson(master, "snapshots", await named("snapshots", name));
    snapshots.set(name, s as Record<string, unknown>);
  }
  const superseded = new Set<string>();
  const indexed = new Map<string, { salt: string; blobs: BlobTuple[] }>();
  for (const name of await list("index")) {
    const idx = await docOpenSealedJson(master, "index", await named("index", name)) as {
      v: number;
      supersedes?: string[];
      packs: { id: string; salt: string; blobs: BlobTuple[] }[];
    };
    if (idx.v !== 1) fail(`index ${name} has version ${idx.v}`);
    for (const s of idx.supersedes ?? []) superseded.add(s);
    for (const p of idx.packs) indexed.set(p.id, p);
  }
  const blobs = new Map<string, { type: "d" | "t"; plain: Uint8Array }>();
  for (const sub of await Array.fromAsync(Deno.readDir(`${dir}/data`))) {
    for (const name of await list(`data/${sub.name}`)) {
      if (!name.startsWith(sub.name)) fail(`pack ${name} is filed under data/${sub.name}`);
      const pack = await named(`data/${sub.name}`, name);
      const blobList = await docReadPack(master, pack);
      const entry = indexed.get(name);
      if (!entry) continue; // unindexed packs are allowed
      if (entry.salt !== Buffer.from(pack.subarray(8, 24)).toString("base64")) {
        fail(`index holds another salt for pack ${name}`);
      }
      if (JSON.stringify(entry.blobs) !== JSON.stringify(blobList.list)) {
        fail(`index and trailer of pack ${name} differ`);
      }
      for (const [id, b] of blobList.blobs) blobs.set(id, b);
    }
  }
  return { master, config, snapshots, blobs };
}

/**
 * Reads one pack: `"CAIRNPK\x01" ‖ salt (16) ‖ segments ‖ sealed trailer ‖
 * trailer length (u32 LE)`, opening every segment and checking every blob.
 */
export async function docReadPack(
  master: DocMasterKey,
  pack: Uint8Array,
): Promise<{ list: BlobTuple[]; blobs: Map<string, { type: "d" | "t"; plain: Uint8Array }> }> {
  if (hex(pack.subarray(0, 8)) !== hex(ascii("CAIRNPK\x01"))) fail("bad pack magic");
  const salt = pack.subarray(8, 24);
  const key = await docFileKey(master.enc, salt, "pack");
  const len = new DataView(pack.buffer, pack.byteOffset + pack.length - 4, 4).getUint32(0, true);
  const trailer = pack.subarray(pack.length - 4 - len, pack.length - 4);
  const list = JSON.parse(
    dec.decode(await docOpen(key, trailer, ascii("cairn v1 file pack"))),
  ) as BlobTuple[];
  const blobs = new Map<string, { type: "d" | "t"; plain: Uint8Array }>();
  let end = 24;
  for (const [code, id, offset, length, rawLength, at] of list) {
    if (code !== "d" && code !== "t") fail(`blob type ${code}`);
    const payload = await docOpen(
      key,
      pack.subarray(offset, offset + length),
      docSegmentAad(code, offset),
    );
    const plain = payload[0] === 0
      ? payload.subarray(1)
      : payload[0] === 1
      ? new Uint8Array(zstdDecompressSync(payload.subarray(1)))
      : fail(`segment flag ${payload[0]}`);
    const blob = plain.slice(at, at + rawLength);
    if (blob.length !== rawLength) fail(`blob ${id} runs past its segment`);
    if (createHmac("sha256", master.id).update(blob).digest("hex") !== id) {
      fail(`blob ${id} does not hash to its id`);
    }
    blobs.set(id, { type: code, plain: blob });
    end = Math.max(end, offset + length);
  }
  if (end !== pack.length - 4 - len) fail("segments do not end where the trailer starts");
  return { list, blobs };
}

/** A file, dir or link found by {@link docWalk}: its path and tree node. */
export interface DocEntry {
  path: string;
  node: Record<string, unknown>;
  /** A file's content: its data blobs in order. */
  content?: Uint8Array;
}

/** Walks a snapshot's tree from the root, reassembling each file's content. */
export function docWalk(repo: DocRepository, treeId: string, prefix = ""): DocEntry[] {
  const tree = repo.blobs.get(treeId);
  if (!tree || tree.type !== "t") fail(`tree ${treeId} is missing`);
  const { nodes } = JSON.parse(dec.decode(tree.plain)) as { nodes: Record<string, unknown>[] };
  const names = nodes.map((n) => n.name as string);
  if (JSON.stringify(names) !== JSON.stringify([...names].sort())) fail("tree is not sorted");
  const out: DocEntry[] = [];
  for (const node of nodes) {
    const path = `${prefix}/${node.name}`;
    if (node.type === "file") {
      const parts = (node.content as string[]).map((id) => {
        const b = repo.blobs.get(id);
        if (!b || b.type !== "d") fail(`data blob ${id} is missing`);
        return b.plain;
      });
      out.push({ path, node, content: new Uint8Array(Buffer.concat(parts)) });
    } else out.push({ path, node });
    if (node.type === "dir") out.push(...docWalk(repo, node.subtree as string, path));
  }
  return out;
}
