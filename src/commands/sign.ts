import { type Command, expectPositionals, stringFlag, UsageError } from "../cli/mod.ts";
import { signFile } from "../remote/mod.ts";

/** `cairn sign`: sign a remote job document. */
export const signCommand: Command = {
  name: "sign",
  summary: "sign a remote job document (writes FILE.sig)",
  usage: "cairn sign FILE --key NAME [--json]",
  description: "Upload FILE and FILE.sig together; any later change to FILE breaks the signature.",
  usesRepository: false,
  options: {
    key: { type: "string", short: "k", arg: "NAME", description: "the private key (from keygen)" },
  },
  async run(ctx) {
    expectPositionals(this, ctx.positionals, 1);
    const key = stringFlag(ctx.flags, "key");
    if (!key) throw new UsageError("--key NAME is required");
    const sigPath = await signFile(ctx.positionals[0], key);
    if (ctx.flags.json) ctx.output.out(JSON.stringify({ signature_file: sigPath }));
    else ctx.output.out(`wrote ${sigPath}`);
    return 0;
  },
};
