import { InvalidArgumentError } from "../errors.js";

/** A Proxmox storage ID. */
export const STORAGE_ID = /^[a-zA-Z][a-zA-Z0-9_.-]{0,63}$/;

/** Where a container's root filesystem goes when the request names no storage (the spec's default too). */
export const DEFAULT_ROOTFS_STORAGE = "local-lvm";

/** A template volume: `<storage>:vztmpl/<file>.tar.{gz,xz,zst}`. */
export const TEMPLATE_VOLUME = /^[a-zA-Z][a-zA-Z0-9_.-]*:vztmpl\/[a-zA-Z0-9_.+-]+\.tar\.(gz|xz|zst)$/;

/** One Proxmox tag. */
export const PROXMOX_TAG = /^[a-z0-9_][a-z0-9_+.-]{0,63}$/;

/** A container description: bounded, and without NUL, which the config file cannot hold. */
export function requireDescription(value: string): string {
  if (value.length > 8192 || value.includes("\0"))
    throw new InvalidArgumentError("description", "must be at most 8192 characters without NUL");
  return value;
}
