import {
  type Command,
  createRepositoryBackend,
  expectPositionals,
  intFlag,
  readPassword,
  repositoryLocation,
  UsageError,
} from "../cli/mod.ts";
import { DEFAULT_KDF_PARAMS, validateKdfParams } from "../crypto/mod.ts";
import { DEFAULT_COMPRESSION, Repository } from "../repo/mod.ts";

/** `cairn init`: create a repository. */
export const initCommand: Command = {
  name: "init",
  summary: "create a new repository (refuses to overwrite one)",
  usage: "cairn init [--repo LOCATION]",
  usesRepository: true,
  options: {
    "kdf-memory": {
      type: "string",
      arg: "MiB",
      description: `Argon2id memory for the key (default ${DEFAULT_KDF_PARAMS.memoryKiB / 1024})`,
    },
    "kdf-iterations": {
      type: "string",
      arg: "N",
      description: `Argon2id passes (default ${DEFAULT_KDF_PARAMS.iterations})`,
    },
    compression: {
      type: "string",
      arg: "LEVEL",
      description: `zstd level 0-19 for new data, 0 for none (default ${DEFAULT_COMPRESSION})`,
    },
  },
  async run(ctx) {
    expectPositionals(this, ctx.positionals, 0);
    const location = repositoryLocation(ctx);
    const password = readPassword(ctx);
    if (password === "") throw new Error("Refusing an empty password");
    const memMiB = intFlag(ctx.flags, "kdf-memory");
    const kdf = {
      ...DEFAULT_KDF_PARAMS,
      ...(memMiB !== undefined ? { memoryKiB: memMiB * 1024 } : {}),
      ...(intFlag(ctx.flags, "kdf-iterations") !== undefined
        ? { iterations: intFlag(ctx.flags, "kdf-iterations")! }
        : {}),
    };
    try {
      validateKdfParams(kdf); // before anything is created
    } catch (err) {
      throw new UsageError(`--kdf-memory/--kdf-iterations: ${(err as Error).message}`);
    }
    const compression = intFlag(ctx.flags, "compression");
    if (compression !== undefined && compression > 19) {
      throw new RangeError(`--compression ${compression} is above zstd's maximum of 19`);
    }
    const backend = await createRepositoryBackend(location, ctx.env);
    const repo = await Repository.init(backend, password, {
      kdf,
      compression,
      host: Deno.hostname(),
      username: ctx.env.USER ?? "",
    });
    if (ctx.flags.json) {
      ctx.output.out(JSON.stringify({ id: repo.config.id, location: backend.location }));
    } else ctx.output.out(`created repository ${repo.config.id} at ${backend.location}`);
    return 0;
  },
};
