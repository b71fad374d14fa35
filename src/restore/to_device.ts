import { type ContentSource, CorruptError, fileContent, type Node } from "../repo/mod.ts";

/** Why an image is not written onto a device: one line, nothing written. */
export class DeviceRefusedError extends Error {}

export interface ToDeviceOptions {
  signal?: AbortSignal;
  /** Bytes written so far, of `total`. */
  onProgress?: (written: number, total: number) => void;
  /** Test hook: where the mount table and sysfs are read (default `/proc/self/mountinfo`, `/sys`). */
  mountinfo?: string;
  sys?: string;
}

/** The device's major:minor as the kernel writes it in mountinfo and sysfs. */
function majorMinor(rdev: number): string {
  const r = BigInt(rdev);
  const major = ((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn);
  const minor = (r & 0xffn) | ((r >> 12n) & ~0xffn);
  return `${major}:${minor}`;
}

/**
 * Refuses, with the reason, a device that is not a block device, is smaller
 * than `size`, is mounted (or one of its partitions is), or is held by
 * another device (device mapper, RAID, LVM). Returns the device's size.
 */
export function checkDevice(device: string, size: number, opts: ToDeviceOptions = {}): number {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(device);
  } catch (err) {
    throw new DeviceRefusedError(`cannot use ${device}: ${(err as Error).message}`);
  }
  if (!info.isBlockDevice) throw new DeviceRefusedError(`${device} is not a block device`);
  const mm = majorMinor(info.rdev ?? 0);
  const sys = opts.sys ?? "/sys";
  const ids = new Set([mm]);
  const base = `${sys}/dev/block/${mm}`;
  try {
    for (const e of Deno.readDirSync(base)) {
      try {
        ids.add(Deno.readTextFileSync(`${base}/${e.name}/dev`).trim()); // a partition
      } catch { /* not a partition */ }
    }
  } catch { /* no sysfs entry: only the device itself is checked */ }
  const mounts = Deno.readTextFileSync(opts.mountinfo ?? "/proc/self/mountinfo").split("\n");
  for (const line of mounts) {
    const f = line.split(" ");
    if (f.length > 4 && ids.has(f[2])) {
      const which = f[2] === mm ? device : `a partition of ${device} (${f[2]})`;
      throw new DeviceRefusedError(`${which} is mounted on ${f[4]}; unmount it first`);
    }
  }
  for (const id of ids) {
    let holders: string[] = [];
    try {
      holders = [...Deno.readDirSync(`${sys}/dev/block/${id}/holders`)].map((e) => e.name);
    } catch { /* none */ }
    if (holders.length > 0) {
      throw new DeviceRefusedError(
        `${device} is in use by ${holders.join(", ")}; release it first`,
      );
    }
  }
  let deviceSize: number;
  {
    using f = Deno.openSync(device, { read: true });
    deviceSize = f.seekSync(0, Deno.SeekMode.End);
  }
  if (deviceSize < size) {
    throw new DeviceRefusedError(
      `${device} holds ${deviceSize} bytes, less than the image's ${size}`,
    );
  }
  return deviceSize;
}

/**
 * Writes a file of a snapshot (a disk image) onto a block device, from its
 * first byte, after {@link checkDevice}; every byte is written (a device has
 * no holes) and synced before this returns.
 */
export async function restoreToDevice(
  repo: ContentSource,
  node: Node,
  device: string,
  opts: ToDeviceOptions = {},
): Promise<number> {
  if (node.type !== "file") {
    throw new DeviceRefusedError(`the snapshot's entry is a ${node.type}, not an image`);
  }
  const size = node.size ?? 0;
  checkDevice(device, size, opts);
  using f = Deno.openSync(device, { write: true });
  let written = 0;
  for await (
    const blob of fileContent(repo, node.content ?? [], { signal: opts.signal, size })
  ) {
    let at = 0;
    while (at < blob.length) at += f.writeSync(blob.subarray(at));
    written += blob.length;
    opts.onProgress?.(written, size);
  }
  if (written !== size) {
    throw new CorruptError(`content is ${written} bytes, but the snapshot says ${size}`);
  }
  f.syncSync();
  return written;
}
