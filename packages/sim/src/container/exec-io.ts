/** A command's view of the world inside one container. */
export interface ExecIo {
  readonly vmid: number;
  readonly rootfs: string;
  /** The command's environment (`PATH` decides where bare names are found). */
  readonly env: Readonly<Record<string, string>>;
  /** Lazily read: only commands that read stdin wait for it. */
  stdin(): Buffer;
  out(text: string | Buffer): void;
  err(text: string): void;
  /** Host path of a container path (chroot semantics). */
  resolve(containerPath: string, followLast?: boolean): string;
}

/** One in-container command: argv without the name; returns the exit status. */
export type ContainerCommand = (args: string[], io: ExecIo) => number;
