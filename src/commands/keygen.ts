import { type Command, expectPositionals, stringFlag, UsageError } from "../cli/mod.ts";
import { writeKeyPair } from "../remote/mod.ts";

/** `cairn keygen`: a new Ed25519 key pair for signing remote job documents. */
export const keygenCommand: Command = {
  name: "keygen",
  summary: "create a key pair for signing remote job documents",
  usage: "cairn keygen --out NAME [--json]",
  description: [
    "Writes NAME (the private key, PKCS#8 PEM, mode 0600) and NAME.pub, and prints the",
    "public key line for [remote] public_key. Never overwrites an existing file.",
  ].join("\n"),
  usesRepository: false,
  options: {
    out: { type: "string", short: "o", arg: "NAME", description: "where to write the key pair" },
  },
  async run(ctx) {
    expectPositionals(this, ctx.positionals, 0);
    const out = stringFlag(ctx.flags, "out");
    if (!out) throw new UsageError("--out NAME is required");
    const pair = await writeKeyPair(out);
    if (ctx.flags.json) {
      ctx.output.out(JSON.stringify({
        private_key_file: pair.privatePath,
        public_key_file: pair.publicPath,
        public_key: pair.publicKey,
      }));
      return 0;
    }
    ctx.output.err(
      `wrote ${pair.privatePath} (private: keep it off the server) and ${pair.publicPath}`,
    );
    ctx.output.out(pair.publicKey);
    return 0;
  },
};
