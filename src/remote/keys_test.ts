import assert from "node:assert/strict";
import {
  exportPublicKey,
  generateKeyPair,
  KeyFormatError,
  loadPrivateKey,
  parsePublicKey,
  parseSignature,
  signDocument,
  signFile,
  verifyDocument,
  writeKeyPair,
} from "./keys.ts";

const doc = new TextEncoder().encode("version = 1\nexpires = 2099-01-01T00:00:00Z\n");

Deno.test("writeKeyPair() writes a 0600 private key and a one-line public key", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const out = `${dir}/fleet`;
    const written = await writeKeyPair(out);
    assert.equal((await Deno.stat(out)).mode! & 0o777, 0o600);
    const pub = await Deno.readTextFile(`${out}.pub`);
    assert.equal(pub, written.publicKey + "\n");
    assert.match(pub, /^[A-Za-z0-9+/]{43}=\n$/);

    const key = await loadPrivateKey(out);
    const sig = await signDocument(doc, key);
    assert.ok(await verifyDocument(doc, sig, await parsePublicKey(pub)));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeKeyPair() refuses to overwrite an existing key", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/k`, "precious");
    await assert.rejects(writeKeyPair(`${dir}/k`), Deno.errors.AlreadyExists);
    assert.equal(await Deno.readTextFile(`${dir}/k`), "precious");

    await Deno.writeTextFile(`${dir}/j.pub`, "precious");
    await assert.rejects(writeKeyPair(`${dir}/j`), Deno.errors.AlreadyExists);
    // The private half is not left behind when the public half cannot be written.
    await assert.rejects(Deno.stat(`${dir}/j`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("verifyDocument() rejects a changed body, another key and a garbled signature", async () => {
  const a = await generateKeyPair();
  const b = await generateKeyPair();
  const sig = await signDocument(doc, a.privateKey);
  assert.ok(await verifyDocument(doc, sig, a.publicKey));

  const tampered = doc.slice();
  tampered[10] ^= 1;
  assert.equal(await verifyDocument(tampered, sig, a.publicKey), false);
  assert.equal(await verifyDocument(doc, sig, b.publicKey), false);
  assert.equal(await verifyDocument(doc, new TextEncoder().encode("junk"), a.publicKey), false);
});

Deno.test("signDocument() signs the domain-separated message, not the bare body", async () => {
  const { privateKey, publicKey } = await generateKeyPair();
  const sig = parseSignature(await signDocument(doc, privateKey));
  const bare = await crypto.subtle.verify("Ed25519", publicKey, new Uint8Array(sig), doc);
  assert.equal(bare, false);
});

Deno.test("parseSignature() names what is wrong with a signature file", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.throws(() => parseSignature(enc("AAAA\n")), /expected "cairn-signature-v1 ed25519"/);
  assert.throws(
    () => parseSignature(enc("cairn-signature-v1 ed25519\nAAAA\n")),
    /64-byte signature/,
  );
  assert.throws(() => parseSignature(new Uint8Array([0xff, 0xfe])), /not UTF-8/);
});

Deno.test("parsePublicKey() rejects wrong length and bad encoding with a clear error", async () => {
  await assert.rejects(parsePublicKey("AAAA"), KeyFormatError);
  await assert.rejects(parsePublicKey("!".repeat(43) + "="), /expected base64 of a 32-byte/);
  const ok = await exportPublicKey((await generateKeyPair()).publicKey);
  await parsePublicKey(` ${ok}\n`);
});

Deno.test("loadPrivateKey() rejects a file that is not a PEM private key", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/k`, "hello");
    await assert.rejects(loadPrivateKey(`${dir}/k`), /not a PEM "PRIVATE KEY" file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("signFile() writes FILE.sig that verifies against the public key", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { publicKey } = await writeKeyPair(`${dir}/key`);
    await Deno.writeFile(`${dir}/host.toml`, doc);
    const sigPath = await signFile(`${dir}/host.toml`, `${dir}/key`);
    assert.equal(sigPath, `${dir}/host.toml.sig`);
    const ok = await verifyDocument(
      doc,
      await Deno.readFile(sigPath),
      await parsePublicKey(publicKey),
    );
    assert.ok(ok);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
