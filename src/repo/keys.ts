/**
 * Keys: several passwords may open one repository, each through its own
 * key file in `keys/` wrapping the same master key (docs/FORMAT.md). Adding
 * or removing a key, or changing a password, writes or removes one small
 * file and rewrites no data.
 *
 * @module
 */
import { NotFoundError } from "../backend/mod.ts";
import { createKeyFile, fromUtf8, parseKeyFile, sha256, toHex } from "../crypto/mod.ts";
import type { Repository } from "./repository.ts";

/** One key file, as `cairn key list` shows it (clear fields only). */
export interface KeyInfo {
  id: string;
  /** Is this the key the repository was opened with? */
  current: boolean;
  host: string;
  username: string;
  created: string;
  /** Why the file cannot be used, if so. */
  error?: string;
}

/** A key that must stay (the one in use, the last one), or a key id that names none or several. */
export class KeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "KeyError";
  }
}

/** Every key file, oldest first; a damaged one is listed with its error. */
export async function listKeys(repo: Repository): Promise<KeyInfo[]> {
  const out: KeyInfo[] = [];
  for await (const f of repo.backend.list("keys")) {
    const info: KeyInfo = {
      id: f.name,
      current: f.name === repo.key.name,
      host: "",
      username: "",
      created: "",
    };
    try {
      const bytes = await repo.backend.load("keys", f.name);
      parseKeyFile(bytes, f.name);
      const json = JSON.parse(fromUtf8(bytes));
      info.host = String(json.host ?? "");
      info.username = String(json.username ?? "");
      info.created = String(json.created ?? "");
    } catch (err) {
      if (err instanceof NotFoundError) continue;
      info.error = (err as Error).message;
    }
    out.push(info);
  }
  return out.sort((a, b) => a.created < b.created ? -1 : a.created > b.created ? 1 : 0);
}

/**
 * Writes a key file that `password` opens, with the Argon2 parameters of
 * the key in use; returns its id.
 */
export async function addKey(
  repo: Repository,
  password: string,
  meta: { host?: string; username?: string } = {},
): Promise<string> {
  if (password === "") throw new KeyError("Refusing an empty password");
  const file = await createKeyFile(repo.master, password, repo.key.kdf, meta);
  const name = toHex(sha256(file));
  await repo.backend.save("keys", name, file);
  return name;
}

/** The id of the one key whose id starts with `ref`; one line naming the candidates otherwise. */
export async function findKey(repo: Repository, ref: string): Promise<string> {
  const keys = await listKeys(repo);
  const found = keys.filter((k) => k.id.startsWith(ref.toLowerCase()));
  if (ref === "" || found.length === 0) throw new KeyError(`No key "${ref}" in this repository`);
  if (found.length > 1) {
    throw new KeyError(
      `Key prefix "${ref}" is ambiguous: ${found.map((k) => k.id.slice(0, 12)).join(", ")}`,
    );
  }
  return found[0].id;
}

/**
 * Removes the key `ref` names (an id or a unique prefix). Refuses the key
 * this repository was opened with, and the last usable key.
 */
export async function removeKey(repo: Repository, ref: string): Promise<string> {
  const id = await findKey(repo, ref);
  if (id === repo.key.name) {
    throw new KeyError(
      `Key ${id.slice(0, 12)} is the one in use; open the repository with another password ` +
        `to remove it, or change this one with "cairn key passwd"`,
    );
  }
  const left = (await listKeys(repo)).filter((k) => !k.error && k.id !== id);
  if (left.length === 0) {
    throw new KeyError(`Key ${id.slice(0, 12)} is the last usable key; refusing`);
  }
  await repo.backend.remove("keys", id);
  return id;
}

/**
 * Changes the password of the key in use: writes a key file for `password`
 * first, then removes the old one, so some key opens the repository at
 * every moment. Returns both ids.
 */
export async function changePassword(
  repo: Repository,
  password: string,
  meta: { host?: string; username?: string } = {},
): Promise<{ added: string; removed: string }> {
  const old = repo.key.name;
  const added = await addKey(repo, password, meta);
  await repo.backend.remove("keys", old);
  repo.key = { ...repo.key, name: added };
  return { added, removed: old };
}
