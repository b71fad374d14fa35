import assert from "node:assert/strict";
import { RemoteJobSource } from "./fetcher.ts";
import { exportPublicKey, generateKeyPair, signDocument } from "./keys.ts";
import { jobDocument, parseTestDocument } from "./_testkit.ts";

/** Is the openssl command here? Without it the test is reported as ignored, never as passed. */
const HAS_OPENSSL = await (async () => {
  try {
    const out = await new Deno.Command("openssl", {
      args: ["version"],
      stdout: "null",
      stderr: "null",
    })
      .output();
    return out.success;
  } catch {
    return false;
  }
})();

/** Makes a CA and a server certificate for 127.0.0.1 with openssl. */
async function testPki(dir: string): Promise<{ cert: string; key: string }> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  const steps = [
    [
      "req",
      "-x509",
      ...ec,
      "-days",
      "1",
      "-subj",
      "/CN=cairn test CA",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
    ],
    ["req", ...ec, "-subj", "/CN=127.0.0.1", "-keyout", "key.pem", "-out", "req.csr"],
    [
      "x509",
      "-req",
      "-in",
      "req.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      "ext.cnf",
      "-out",
      "cert.pem",
    ],
  ];
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
  );
  for (const args of steps) {
    const out = await new Deno.Command("openssl", {
      args,
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    })
      .output();
    if (!out.success) {
      throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
    }
  }
  return {
    cert: await Deno.readTextFile(`${dir}/cert.pem`),
    key: await Deno.readTextFile(`${dir}/key.pem`),
  };
}

Deno.test({
  name: "RemoteJobSource trusts the CA in ca_file for an https endpoint",
  ignore: !HAS_OPENSSL,
}, async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const tls = await testPki(dir);
    const keys = await generateKeyPair();
    const doc = new TextEncoder().encode(jobDocument(1));
    const sig = await signDocument(doc, keys.privateKey);
    const ac = new AbortController();
    const { promise, resolve } = Promise.withResolvers<Deno.NetAddr>();
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      ...tls,
      signal: ac.signal,
      onListen: (a) => resolve(a as Deno.NetAddr),
      onError: () => new Response("error", { status: 500 }),
    }, (req) => new Response(req.url.endsWith(".sig") ? sig : doc));
    const url = `https://127.0.0.1:${(await promise).port}/v1/agents/{host}/jobs.toml`;
    const open = (caFile?: string) =>
      exportPublicKey(keys.publicKey).then((publicKey) =>
        RemoteJobSource.open({
          url,
          host: "web1",
          publicKey,
          caFile,
          allow: { repositories: ["main"], paths: ["/srv"] },
          stateDir: `${dir}/state-${caFile ? "ca" : "none"}`,
          parse: parseTestDocument,
          timeoutMs: 2000,
          log: () => {},
        })
      );
    try {
      await t.step("without the CA the certificate is refused", async () => {
        using s = await open();
        assert.equal((await s.poll()).status, "unreachable");
      });
      await t.step("with the CA the document is fetched", async () => {
        using s = await open(`${dir}/ca.pem`);
        assert.equal((await s.poll()).status, "updated");
      });
    } finally {
      ac.abort();
      await server.finished;
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
