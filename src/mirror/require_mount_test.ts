import { assertEquals, assertThrows } from "../testing/asserts.ts";
import { MirrorRefusedError } from "./marker.ts";
import { isMountPoint, requireMount } from "./require_mount.ts";

const linux = Deno.build.os === "linux";

Deno.test("isMountPoint() is true for / and /proc, false for a fresh directory", {
  ignore: !linux,
}, () => {
  assertEquals(isMountPoint("/"), true);
  assertEquals(isMountPoint("/proc"), true);
  assertEquals(isMountPoint("/proc/"), true);
  const dir = Deno.makeTempDirSync();
  assertEquals(isMountPoint(dir), false);
  Deno.symlinkSync("/proc", `${dir}/proc-link`);
  assertEquals(isMountPoint(`${dir}/proc-link`), true, "a link to a mount point is followed");
  assertThrows(() => isMountPoint(`${dir}/missing`), Deno.errors.NotFound);
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("requireMount() accepts a mirror on or below a mount point", { ignore: !linux }, () => {
  requireMount("/proc", "/proc");
  requireMount("/proc", "/proc/mirror/www");
  requireMount("/", "/anything");
});

Deno.test("requireMount() refuses a mount point that is not mounted, or missing", () => {
  const dir = Deno.makeTempDirSync();
  const usb = `${dir}/usb`;
  Deno.mkdirSync(usb);
  assertThrows(
    () => requireMount(usb, `${usb}/www`),
    MirrorRefusedError,
    `Refusing to mirror into ${usb}/www: ${usb} is not a mount point (is the disk mounted?)`,
  );
  assertThrows(
    () => requireMount(`${dir}/gone`, `${dir}/gone/www`),
    MirrorRefusedError,
    `${dir}/gone does not exist (is the disk mounted?)`,
  );
  assertEquals([...Deno.readDirSync(usb)], [], "nothing was written");
  Deno.removeSync(dir, { recursive: true });
});

Deno.test("requireMount() refuses a mirror that is not below the mount point", () => {
  assertThrows(
    () => requireMount("/proc", "/procfs/www"),
    MirrorRefusedError,
    "Refusing to mirror into /procfs/www: it is not on the required mount point /proc",
  );
  assertThrows(() => requireMount("/proc", "/proc/../srv"), MirrorRefusedError, "into /srv");
});
