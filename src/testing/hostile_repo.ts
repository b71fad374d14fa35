/**
 * Test kit: valid, properly encrypted repositories holding crafted trees
 * (shared subtrees, deep nesting, repeated blobs, sizes that lie), written
 * with the repository's own pack, index and snapshot functions. Nothing a
 * builder writes is validated, so a test sees what a hostile writer with
 * the key could store.
 *
 * @module
 */
import { LocalBackend } from "../backend/mod.ts";
import { keyedId, toHex, utf8 } from "../crypto/mod.ts";
import { type PackInfo, Repository, saveIndexFile } from "../repo/mod.ts";
import { rawNode } from "./raw_node.ts";

/** The password of every hostile repository. */
export const HOSTILE_PASSWORD = "hostile";

/** A repository being filled by hand. */
export interface HostileRepo {
  /** Temp dir holding the repository (at `dir/repo`); remove it when done. */
  dir: string;
  repo: Repository;
  /** Environment for the CLI (`CAIRN_REPO`, `CAIRN_PASSWORD`). */
  env: Record<string, string>;
  /** Stores a blob (once per id) and returns its id. */
  put(type: "data" | "tree", bytes: Uint8Array): string;
  /** Stores a tree of raw nodes (sorted by name here) and returns its id. */
  tree(nodes: unknown[]): string;
  /** Writes the packs and an index for everything put so far, then a snapshot of `root`. */
  snapshot(root: string, paths?: string[]): Promise<string>;
}

/** A new, empty repository with a fast key derivation. */
export async function hostileRepo(): Promise<HostileRepo> {
  const dir = await Deno.makeTempDir({ prefix: "cairn-hostile-" });
  const backend = await LocalBackend.create(`${dir}/repo`);
  const repo = await Repository.init(backend, HOSTILE_PASSWORD, {
    kdf: { memoryKiB: 8192, iterations: 1, parallelism: 1 },
  });
  let packs: PackInfo[] = [];
  const writer = repo.newPackWriter((p) => {
    packs.push(p);
    repo.index.addPack(p);
  });
  const written = new Set<string>();
  const put = (type: "data" | "tree", bytes: Uint8Array) => {
    const id = toHex(keyedId(repo.master.id, bytes));
    if (!written.has(id)) {
      written.add(id);
      writer.add(type, id, bytes);
    }
    return id;
  };
  return {
    dir,
    repo,
    env: { CAIRN_REPO: `${dir}/repo`, CAIRN_PASSWORD: HOSTILE_PASSWORD },
    put,
    tree: (nodes) => {
      const sorted = [...nodes as { name: string }[]].sort((a, b) =>
        a.name < b.name ? -1 : a.name > b.name ? 1 : 0
      );
      return put("tree", utf8(JSON.stringify({ nodes: sorted })));
    },
    async snapshot(root, paths = ["/"]) {
      await writer.flush();
      if (packs.length > 0) await saveIndexFile(repo.backend, repo.master.enc, packs);
      packs = [];
      return await repo.saveSnapshot({
        time: new Date().toISOString(),
        tree: root,
        paths,
        host: "hostile",
        username: "u",
        tags: [],
        program_version: "test",
      });
    },
  };
}

/** A raw directory node pointing at `subtree`. */
export function dirNode(name: string, subtree: string) {
  return rawNode(name, "dir", { mode: 0o755, subtree });
}

/** A raw file node; `size` defaults to nothing in particular, so pass the truth or a lie. */
export function fileNode(name: string, content: string[], size: number) {
  return rawNode(name, "file", { content, size });
}

/**
 * A tree of `levels` directories, each holding two names (`a`, `b`) for
 * one and the same subtree: `levels` distinct trees, 2^(levels+1) - 2
 * entries when walked, with tree `bottom` (default: one empty file `f`)
 * at the bottom of every path.
 */
export function doublingTree(
  h: HostileRepo,
  levels: number,
  bottom = h.tree([fileNode("f", [], 0)]),
): string {
  let id = bottom;
  for (let i = 0; i < levels; i++) id = h.tree([dirNode("a", id), dirNode("b", id)]);
  return id;
}

/** A chain of `depth` directories named `d`, with a file `f` at the bottom. */
export function deepTree(h: HostileRepo, depth: number): string {
  let id = h.tree([fileNode("f", [h.put("data", utf8("bottom"))], 6)]);
  for (let i = 0; i < depth; i++) id = h.tree([dirNode("d", id)]);
  return id;
}
